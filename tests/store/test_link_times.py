"""Entity links carry their article's stored ingest time (``article_entities.ingested_at``).

Entity pages sorted by ingest time are read off the links alone (index (entity_id, ingested_at,
article_id)), so a link whose time differs from its article's would list the article out of
order, or on no page at all. The article keeps its first ingested_at when a newer version
arrives (it is not one of the writer's replaceable columns), and so must every link.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text

from services.store.consumer import make_article_handler
from shared.events import EnrichedArticle, EntityRef
from shared.identity import entity_id
from tests.store.seed_events import by_prefix, deliveries, seed_events

_LINK_TIMES = text(
    """
    SELECT ae.article_id, ae.entity_id, ae.ingested_at AS linked, a.ingested_at AS stored
    FROM article_entities ae JOIN articles a ON a.article_id = ae.article_id
    ORDER BY ae.article_id, ae.entity_id
    """
)


def _link_times(engine: Engine) -> list[tuple[str, str, object, object]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(_LINK_TIMES)]


def _assert_links_carry_the_stored_time(engine: Engine) -> int:
    rows = _link_times(engine)
    wrong = [row for row in rows if row[2] != row[3]]
    assert wrong == [], "links whose ingested_at is not their article's"
    return len(rows)


def _version(event: EnrichedArticle, *, hours: int, entities: list[EntityRef] | None = None) -> EnrichedArticle:
    """Another enrichment of the same article, ``hours`` later, whose event says it was ingested then too."""
    article = event.article.model_copy(
        update={
            "ingested_at": event.article.ingested_at + timedelta(hours=hours),
            "received_at": event.article.received_at + timedelta(hours=hours),
            "title": f"Version {hours}",
        }
    )
    return event.model_copy(
        update={
            "article": article,
            "entities": event.entities if entities is None else entities,
            "enriched_at": event.enriched_at + timedelta(hours=abs(hours) + 1),
        }
    )


def _stored_ingested_at(engine: Engine, article_id: str) -> object:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT ingested_at FROM articles WHERE article_id = :id"), {"id": article_id}
        ).scalar_one()


def test_seed_links_carry_their_articles_ingest_time(writer: Engine) -> None:
    events = seed_events()
    make_article_handler(writer)(deliveries(events))
    linked = _assert_links_carry_the_stored_time(writer)
    assert linked == sum(len(event.entities) for event in events), "every seed link was written"
    # The seeds are ingested a minute apart, so a link given another article's time would show.
    assert len({row[3] for row in _link_times(writer)}) == len(events)


def test_newer_version_keeps_the_first_ingest_time_on_its_links(writer: Engine) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    handle(deliveries(events))
    seed = by_prefix(events)["001"]
    article_id = seed.article.article_id
    first = seed.article.ingested_at

    # A newer enrichment whose event says it was ingested an hour later, tagging one entity more.
    senate = EntityRef(id=entity_id("ORG", "Senate"), name="Senate", type="ORG", mentions=["Senate"], count=1)
    later = _version(seed, hours=1, entities=[*seed.entities, senate])
    handle(deliveries([later]))
    assert _stored_ingested_at(writer, article_id) == first, "the article keeps its first ingested_at"
    _assert_links_carry_the_stored_time(writer)
    times = {row[1]: row[2] for row in _link_times(writer) if row[0] == article_id}
    assert set(times) == {ref.id for ref in later.entities}, "the newer version's links replaced the old"
    assert set(times.values()) == {first}, "old and new links alike carry the first ingest time"

    # Another one, whose event says an earlier time: still the first stored one.
    earlier = _version(seed, hours=-1).model_copy(update={"enriched_at": later.enriched_at + timedelta(hours=1)})
    handle(deliveries([earlier]))
    assert _stored_ingested_at(writer, article_id) == first
    _assert_links_carry_the_stored_time(writer)
    assert {row[2] for row in _link_times(writer) if row[0] == article_id} == {first}


def test_versions_in_one_batch_link_with_the_stored_time(writer: Engine) -> None:
    """Two versions of a stored article in one batch (with a new article): links still carry the stored time."""
    handle = make_article_handler(writer)
    events = seed_events()
    seeds = by_prefix(events)
    handle(deliveries([seeds["000"], seeds["002"]]))
    newer = _version(seeds["002"], hours=2)
    newest = _version(seeds["002"], hours=3)
    handle(deliveries([newest, seeds["003"], newer]))
    assert _stored_ingested_at(writer, seeds["002"].article.article_id) == seeds["002"].article.ingested_at
    assert _stored_ingested_at(writer, seeds["003"].article.article_id) == seeds["003"].article.ingested_at
    assert _assert_links_carry_the_stored_time(writer) == sum(
        len(seeds[prefix].entities) for prefix in ("000", "002", "003")
    )
