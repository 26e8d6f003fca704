"""A long article's entity update (issue 19): stored first with its head's entities, then with all.

Enrich republishes the article with its full entities, ``entities_complete=True`` and a newer
``enriched_at``; the store must replace its links, ``entity_ids``, listing and entity counts as for
any newer version, and a redelivery of either version must change nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text

from bench.harness.pipeline import miscounted_entities
from services.store.consumer import make_article_handler
from shared.events import EntityRef
from shared.identity import entity_id
from tests.store.conftest import snapshot
from tests.store.seed_events import by_prefix, deliveries, seed_events

ARDERN = EntityRef(
    id=entity_id("PERSON", "Jacinda Ardern"), name="Jacinda Ardern", type="PERSON", mentions=["Jacinda Ardern"], count=2
)


def test_an_entity_update_replaces_the_head_entities_once_and_redeliveries_change_nothing(
    writer: Engine, store_database_url: str
) -> None:
    handle = make_article_handler(writer)
    full = by_prefix(seed_events())["001"]
    article_id = full.article.article_id
    head = full.model_copy(update={"entities": full.entities[:2], "entities_complete": False})
    complete = full.model_copy(
        update={
            "entities": [*full.entities, ARDERN],
            "entities_complete": True,
            "enriched_at": full.enriched_at + timedelta(minutes=4),
        }
    )

    handle(deliveries([head]))
    assert _row(writer, article_id) == (False, [ref.id for ref in head.entities])
    assert _count(writer, ARDERN.id) is None, "not tagged yet"

    handle(deliveries([complete]))
    assert _row(writer, article_id) == (True, [ref.id for ref in complete.entities])
    assert _count(writer, ARDERN.id) == 1
    with writer.connect() as conn:
        linked = conn.execute(
            text("SELECT entity_id FROM article_entities WHERE article_id = :id ORDER BY ordinal"), {"id": article_id}
        ).scalars()
        assert list(linked) == [ref.id for ref in complete.entities], "links replaced, in order"
        listed = conn.execute(
            text("SELECT entities FROM article_listings WHERE article_id = :id"), {"id": article_id}
        ).scalar_one()
    assert [entity["id"] for entity in listed] == [ref.id for ref in complete.entities]
    assert not miscounted_entities(store_database_url)

    # The update redelivered, the head version arriving late, both together: nothing changes.
    after = snapshot(writer)
    handle(deliveries([complete]))
    handle(deliveries([head]))
    handle(deliveries([head, complete, complete]))
    assert snapshot(writer) == after


def _row(writer: Engine, article_id: str) -> tuple[bool, list[str]]:
    with writer.connect() as conn:
        row = conn.execute(
            text("SELECT entities_complete, entity_ids FROM articles WHERE article_id = :id"), {"id": article_id}
        ).one()
    return row.entities_complete, list(row.entity_ids)


def _count(writer: Engine, entity: str) -> int | None:
    with writer.connect() as conn:
        value = conn.execute(text("SELECT article_count FROM entities WHERE id = :id"), {"id": entity}).scalar()
    return None if value is None else int(value)
