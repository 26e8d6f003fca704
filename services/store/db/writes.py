"""The store's writes: idempotent upserts of enriched articles and dead letters, inside the caller's transaction.

Idempotence rests on identities: an article row is keyed on ``article_id`` and only replaced by a
strictly newer enrichment (``enriched_at``), so a redelivered event changes nothing at all (a long
article's entity update, its full entities once deferred tagging is done, is such a newer version:
its links are replaced like any other's); the
first ``ingested_at`` and the earliest ``received_at`` are kept whatever arrives later. Entity
popularity (``article_count``: original articles mentioning it, reprints folded in as the default
listing does) moves by exact deltas computed from the links this transaction deleted and inserted,
under row locks taken in id order, so it costs O(batch) and concurrent writers cannot skew it.
Each stored article's listing row (its entities as the API lists them, and its plain opening) is
rendered here, in the same transaction as its links, from the same entities, so it is exact
whenever they are.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, any_, delete, func, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.store.db.entity_groups import regroup
from services.store.db.models import article_entities, articles, dead_letters, entities
from services.store.snippets import opening
from shared.events import DeadLetter, EnrichedArticle, EntityRef
from shared.titles import derive_title

# Columns an article's newer enrichment may change; identity and first-seen times never change.
_REPLACEABLE_COLUMNS = (
    "source_file",
    "part",
    "sha256",
    "size_bytes",
    "content_type",
    "encoding",
    "title",
    "derived_title",
    "body",
    "boilerplate",
    "published_at",
    "dateline",
    "source",
    "byline",
    "url",
    "word_count",
    "enriched_at",
    "duplicate_of",
    "duplicate_kind",
    "similarity",
    "duplicate_evidence",
    "content_hash",
    "story_id",
    "entity_ids",
    "entities_complete",
)

# In an upsert's RETURNING: true for a row the statement inserted, false for one it updated
# (an updated row version carries the updating transaction's id in xmax).
_INSERTED: ColumnElement[bool] = literal_column("(xmax = 0)").label("inserted")

_MERGED_ALIASES: ColumnElement[list[str]] = literal_column(
    "ARRAY(SELECT DISTINCT unnest(entities.aliases || excluded.aliases) ORDER BY 1)"
)

_APPLY_COUNT_DELTAS = text(
    """
    UPDATE entities AS e SET article_count = e.article_count + d.delta
    FROM unnest(CAST(:ids AS text[]), CAST(:deltas AS integer[])) AS d(id, delta)
    WHERE e.id = d.id
    """
)


# The JSON is rendered here (compact, keys in the response's order), so it is bound as text.
_UPSERT_LISTING = text(
    """
    INSERT INTO article_listings (article_id, entities, opening)
    VALUES (:article_id, CAST(:entities AS json), :opening)
    ON CONFLICT (article_id) DO UPDATE SET entities = excluded.entities, opening = excluded.opening
    """
)


@dataclass
class ArticleWriteResult:
    """What one batch changed: ``stored`` articles are new or newer versions; ``unchanged`` events changed nothing."""

    stored: list[EnrichedArticle] = field(default_factory=list)
    # The ids of ``stored`` articles that had no row before (first stored, not a newer version).
    inserted: set[str] = field(default_factory=set)
    unchanged: int = 0
    entities: int = 0
    links: int = 0


def _one_of(column: ColumnElement[str], values: Iterable[str]) -> ColumnElement[bool]:
    # One array parameter instead of one parameter per value (IN (...) would hit the limit too).
    return column == any_(literal(sorted(values), ARRAY(Text)))


def latest_versions(events: Iterable[EnrichedArticle]) -> list[EnrichedArticle]:
    """One event per article: the newest enrichment (the later one on a tie), in first-seen order.

    Postgres refuses to upsert the same key twice in one statement, and a batch can hold a
    redelivered copy of an event next to the original.
    """
    chosen: dict[str, EnrichedArticle] = {}
    for event in events:
        key = event.article.article_id
        if key not in chosen or chosen[key].enriched_at <= event.enriched_at:
            chosen[key] = event
    return list(chosen.values())


def article_row(event: EnrichedArticle, refs: Sequence[EntityRef]) -> dict[str, Any]:
    """The article's row; ``refs``: its entities as its links are written (merged_entities)."""
    article, duplicate = event.article, event.duplicate
    return {
        "article_id": article.article_id,
        "source_file": article.source_file,
        "part": article.part,
        "sha256": article.sha256,
        "size_bytes": article.size_bytes,
        "content_type": article.content_type,
        "encoding": article.encoding,
        "title": article.title,
        # Events from before derived titles (or a producer that leaves it out) get one here.
        "derived_title": None if article.title else (article.derived_title or derive_title(article.body)),
        "body": article.body,
        "boilerplate": list(article.boilerplate),
        "published_at": article.published_at,
        "dateline": article.dateline,
        "source": article.source,
        "byline": article.byline,
        "url": article.url,
        "word_count": len(article.body.split()),
        "received_at": article.received_at,
        "ingested_at": article.ingested_at,
        "enriched_at": event.enriched_at,
        "duplicate_of": duplicate.duplicate_of if duplicate else None,
        "duplicate_kind": duplicate.kind if duplicate else None,
        "similarity": duplicate.similarity if duplicate else None,
        "duplicate_evidence": (
            duplicate.evidence.model_dump(mode="json", exclude_none=True) if duplicate and duplicate.evidence else None
        ),
        "content_hash": event.content_hash,
        "story_id": event.story_id,
        # The ids of the links written with the row, in their order.
        "entity_ids": [ref.id for ref in refs],
        "entities_complete": event.entities_complete,
    }


def merged_entities(refs: Iterable[EntityRef]) -> list[EntityRef]:
    """The article's entities with any repeated id folded into one (mentions in order, counts summed)."""
    merged: dict[str, EntityRef] = {}
    for ref in refs:
        if ref.id in merged:
            first = merged[ref.id]
            mentions = list(dict.fromkeys([*first.mentions, *ref.mentions]))
            merged[ref.id] = first.model_copy(update={"mentions": mentions, "count": first.count + ref.count})
        else:
            merged[ref.id] = ref.model_copy(update={"mentions": list(dict.fromkeys(ref.mentions))})
    return list(merged.values())


def upsert_articles(conn: Connection, events: Sequence[EnrichedArticle]) -> ArticleWriteResult:
    """Store a batch of enriched articles with their entities; the caller owns the transaction."""
    result = ArticleWriteResult()
    batch = latest_versions(events)
    if not batch:
        return result
    # executemany: one cached statement that SQLAlchemy sends as multi-row pages, each under
    # Postgres's bind-parameter limit, however large the batch or its entity lists.
    insert = pg_insert(articles)
    upsert = insert.on_conflict_do_update(
        index_elements=[articles.c.article_id],
        set_={
            **{name: insert.excluded[name] for name in _REPLACEABLE_COLUMNS},
            "received_at": func.least(articles.c.received_at, insert.excluded.received_at),
        },
        # Strictly newer only: a redelivery (same enriched_at) or a late older version is a no-op.
        where=articles.c.enriched_at < insert.excluded.enriched_at,
    ).returning(articles.c.article_id, articles.c.ingested_at, _INSERTED)
    # The stored ingest time (a newer version keeps the first one), which the links carry too.
    merged = {event.article.article_id: merged_entities(event.entities) for event in batch}
    rows = [article_row(event, merged[event.article.article_id]) for event in batch]
    ingested_at: dict[str, Any] = {}
    for row in conn.execute(upsert, rows):
        ingested_at[row.article_id] = row.ingested_at
        if row.inserted:
            result.inserted.add(row.article_id)
    result.stored = [event for event in batch if event.article.article_id in ingested_at]
    # Every event that did not become a stored version: redeliveries, in-batch copies, stale versions.
    result.unchanged = len(events) - len(result.stored)
    if not result.stored:
        return result

    per_article = {event.article.article_id: merged[event.article.article_id] for event in result.stored}
    original = {event.article.article_id: event.duplicate is None for event in result.stored}
    # The links as they were, read and locked by the delete itself, so the count deltas below are
    # exact even when another writer touched these articles a moment ago.
    removed = conn.execute(
        delete(article_entities)
        .where(_one_of(article_entities.c.article_id, per_article))
        .returning(article_entities.c.entity_id, article_entities.c.in_original)
    ).all()
    deltas: Counter[str] = Counter()
    for entity, was_counted in removed:
        deltas[entity] -= int(was_counted)
    links = []
    for article_id, refs in per_article.items():
        for ordinal, ref in enumerate(refs):
            deltas[ref.id] += int(original[article_id])
            links.append(
                {
                    "article_id": article_id,
                    "entity_id": ref.id,
                    "entity_type": ref.type,
                    "mentions": ref.mentions,
                    "mention_count": ref.count,
                    "ordinal": ordinal,
                    "in_original": original[article_id],
                    "ingested_at": ingested_at[article_id],
                }
            )
    # Entity rows are locked in id order before anything else touches them, so concurrent writers
    # queue instead of deadlocking.
    known = sorted({entity for entity, _ in removed} | {ref.id for refs in per_article.values() for ref in refs})
    conn.execute(select(entities.c.id).where(_one_of(entities.c.id, known)).order_by(entities.c.id).with_for_update())
    result.entities = _upsert_entities(conn, [ref for refs in per_article.values() for ref in refs])
    if links:
        conn.execute(pg_insert(article_entities), links)
    result.links = len(links)
    changed = sorted(entity for entity, delta in deltas.items() if delta)
    if changed:
        conn.execute(_APPLY_COUNT_DELTAS, {"ids": changed, "deltas": [deltas[entity] for entity in changed]})
    # With the counts exact, the archive-level groups of every name this batch touched.
    regroup(conn, known)
    _upsert_listings(conn, result.stored, per_article)
    return result


def listing_entities_json(refs: Sequence[EntityRef], names: dict[str, str]) -> str:
    """An article's entities as the listing shows them (``ArticleEntity``), compact JSON in order of appearance."""
    return json.dumps(
        [
            {
                "id": ref.id,
                "name": names.get(ref.id, ref.name),
                "type": ref.type,
                "mentions": ref.mentions,
                "count": ref.count,
            }
            for ref in refs
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _upsert_listings(
    conn: Connection, stored: Sequence[EnrichedArticle], per_article: dict[str, list[EntityRef]]
) -> None:
    """Replace the listing rows of the articles just stored."""
    # The canonical name shown is the entity row's (the first spelling stored: ids ignore case),
    # read after this transaction's entity upsert, so new and known entities alike are exact.
    ids = sorted({ref.id for refs in per_article.values() for ref in refs})
    names: dict[str, str] = {}
    if ids:
        query = select(entities.c.id, entities.c.name).where(_one_of(entities.c.id, ids))
        names = {entity_id: name for entity_id, name in conn.execute(query)}
    rows = [
        {
            "article_id": event.article.article_id,
            "entities": listing_entities_json(per_article[event.article.article_id], names),
            "opening": opening(event.article.body),
        }
        for event in stored
    ]
    conn.execute(_UPSERT_LISTING, rows)


def _upsert_entities(conn: Connection, refs: Sequence[EntityRef]) -> int:
    """Insert new entities and add newly seen surface forms to known ones; returns rows written."""
    rows: dict[str, dict[str, Any]] = {}
    for ref in refs:
        row = rows.setdefault(ref.id, {"id": ref.id, "name": ref.name, "type": ref.type, "aliases": set()})
        row["aliases"].update(ref.mentions)
    if not rows:
        return 0
    values = [{**row, "aliases": sorted(row["aliases"])} for _, row in sorted(rows.items())]
    insert = pg_insert(entities)
    upsert = insert.on_conflict_do_update(
        index_elements=[entities.c.id],
        set_={"aliases": _MERGED_ALIASES},
        where=~entities.c.aliases.contains(insert.excluded.aliases),
    ).returning(entities.c.id)
    return len(conn.execute(upsert, values).all())


def letter_id(letter: DeadLetter) -> str:
    """Identity of a dead letter: the same published letter always maps to the same row."""
    return hashlib.sha256(letter.model_dump_json().encode("utf-8")).hexdigest()


def _clean(value: str | None) -> str | None:
    # Postgres text cannot hold NUL; a dead letter must be storable whatever it carries, or the
    # store would dead-letter its own dead letters forever.
    return value.replace("\x00", "\ufffd") if value is not None else None


def insert_dead_letters(conn: Connection, letters: Sequence[DeadLetter]) -> int:
    """Record dead letters, ignoring ones already recorded; returns how many were new."""
    rows = {
        letter_id(letter): {
            "letter_id": letter_id(letter),
            "stage": letter.stage,
            "reason": _clean(letter.reason),
            "message": _clean(letter.message),
            "source_file": _clean(letter.source_file),
            "line": letter.line,
            "sha256": _clean(letter.sha256),
            "article_id": _clean(letter.article_id),
            "source_topic": _clean(letter.source_topic),
            "source_partition": letter.partition,
            "source_offset": letter.offset,
            "payload": _clean(letter.payload),
            "failed_at": letter.failed_at,
        }
        for letter in letters
    }
    if not rows:
        return 0
    insert = pg_insert(dead_letters).on_conflict_do_nothing(index_elements=[dead_letters.c.letter_id])
    return len(conn.execute(insert.returning(dead_letters.c.letter_id), list(rows.values())).all())
