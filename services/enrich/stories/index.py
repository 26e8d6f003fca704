"""The durable story index in Postgres: every read and write story assignment makes.

Like the reprint index, each method is one statement over a whole batch (arrays in, rows out),
and callers run them inside the transaction that holds the reprint index's advisory lock (see
``assigner``): the story decision for a batch sees every earlier decision of every replica.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, text

from services.enrich.stories.matching import StoryState
from services.enrich.stories.window import Span
from shared.db import int_array

# Stories kept per key on lookup, the most recently active first: a key as common as a head of
# state's name then costs the same whether 100 or 100,000 stories were ever posted under it.
KEY_POSTINGS_LIMIT = 32


class StoryIndex:
    """Batched statements over the ``enrich.story*`` tables."""

    def members(self, conn: Connection, article_ids: Iterable[str]) -> dict[str, str]:
        rows = conn.execute(
            text(
                "SELECT m.article_id, m.story_id FROM unnest(CAST(:ids AS text[])) AS q(article_id) "
                "JOIN enrich.story_members m ON m.article_id = q.article_id"
            ),
            {"ids": sorted(set(article_ids))},
        )
        return {r.article_id: r.story_id for r in rows}

    def documents(self, conn: Connection) -> int:
        return int(conn.execute(text("SELECT documents FROM enrich.story_documents WHERE id = 1")).scalar_one())

    def document_frequencies(self, conn: Connection, terms: Iterable[int]) -> dict[int, int]:
        rows = conn.execute(
            text(
                "SELECT t.term, t.df FROM unnest(CAST(:terms AS bigint[])) AS q(term) "
                "JOIN enrich.story_terms t ON t.term = q.term"
            ),
            {"terms": int_array(sorted(set(terms)))},
        )
        return {r.term: r.df for r in rows}

    def postings(self, conn: Connection, keys: Iterable[int]) -> dict[int, list[str]]:
        """key -> the most recently active stories posted under it (at most ``KEY_POSTINGS_LIMIT``)."""
        rows = conn.execute(
            text(
                "SELECT q.key, p.story_id FROM unnest(CAST(:keys AS bigint[])) AS q(key) "
                "CROSS JOIN LATERAL (SELECT k.story_id FROM enrich.story_keys k WHERE k.key = q.key "
                "ORDER BY k.last_seen DESC LIMIT :limit) AS p"
            ),
            {"keys": int_array(sorted(set(keys))), "limit": KEY_POSTINGS_LIMIT},
        )
        found: dict[int, list[str]] = defaultdict(list)
        for r in rows:
            found[r.key].append(r.story_id)
        return found

    def stories(self, conn: Connection, story_ids: Iterable[str]) -> dict[str, StoryState]:
        rows = conn.execute(
            text(
                "SELECT s.story_id, s.terms, s.term_weights, s.lead_terms, s.lead_weights, s.entity_ids, "
                "s.entity_weights, s.actors, s.originals, "
                "s.first_day, s.last_day, s.first_seen, s.last_seen "
                "FROM unnest(CAST(:ids AS text[])) AS q(story_id) JOIN enrich.stories s ON s.story_id = q.story_id"
            ),
            {"ids": sorted(set(story_ids))},
        )
        return {
            r.story_id: StoryState(
                story_id=r.story_id,
                terms=dict(zip(r.terms, r.term_weights, strict=True)),
                lead=dict(zip(r.lead_terms, r.lead_weights, strict=True)),
                entities=dict(zip(r.entity_ids, r.entity_weights, strict=True)),
                actors=set(r.actors),
                originals=r.originals,
                span=Span(r.first_day, r.last_day, r.first_seen, r.last_seen),
            )
            for r in rows
        }

    def save(
        self,
        conn: Connection,
        *,
        stories: Sequence[StoryState],
        members: Mapping[str, str],
        keys: Mapping[tuple[int, str], datetime],
        term_documents: Counter[int],
        new_documents: int,
    ) -> None:
        """Write a batch's decisions: changed stories, memberships (new or moved), postings, frequencies."""
        if stories:
            conn.execute(
                text(
                    "INSERT INTO enrich.stories (story_id, terms, term_weights, lead_terms, lead_weights, entity_ids, "
                    "entity_weights, actors, originals, first_day, last_day, first_seen, last_seen) "
                    "VALUES (:story_id, CAST(:terms AS bigint[]), CAST(:term_weights AS real[]), "
                    "CAST(:lead_terms AS bigint[]), CAST(:lead_weights AS real[]), "
                    ":entity_ids, CAST(:entity_weights AS real[]), :actors, "
                    ":originals, :first_day, :last_day, :first_seen, :last_seen) "
                    "ON CONFLICT (story_id) DO UPDATE SET terms = EXCLUDED.terms, "
                    "term_weights = EXCLUDED.term_weights, lead_terms = EXCLUDED.lead_terms, "
                    "lead_weights = EXCLUDED.lead_weights, "
                    "entity_ids = EXCLUDED.entity_ids, entity_weights = EXCLUDED.entity_weights, "
                    "actors = EXCLUDED.actors, originals = EXCLUDED.originals, first_day = EXCLUDED.first_day, "
                    "last_day = EXCLUDED.last_day, first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen"
                ),
                [_story_row(story) for story in stories],
            )
        if members:
            conn.execute(
                text(
                    "INSERT INTO enrich.story_members (article_id, story_id) "
                    "SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:stories AS text[])) "
                    "ON CONFLICT (article_id) DO UPDATE SET story_id = EXCLUDED.story_id"
                ),
                {"ids": list(members), "stories": list(members.values())},
            )
        if keys:
            ordered = sorted(keys.items())
            conn.execute(
                text(
                    "INSERT INTO enrich.story_keys (key, story_id, last_seen) SELECT * FROM "
                    "unnest(CAST(:keys AS bigint[]), CAST(:stories AS text[]), CAST(:seen AS timestamptz[])) "
                    "ON CONFLICT (key, story_id) DO UPDATE "
                    "SET last_seen = GREATEST(enrich.story_keys.last_seen, EXCLUDED.last_seen)"
                ),
                {
                    "keys": int_array(k for (k, _), _ in ordered),
                    "stories": [s for (_, s), _ in ordered],
                    "seen": [seen for _, seen in ordered],
                },
            )
        if term_documents:
            terms = sorted(term_documents)
            conn.execute(
                text(
                    "INSERT INTO enrich.story_terms (term, df) "
                    "SELECT * FROM unnest(CAST(:terms AS bigint[]), CAST(:counts AS integer[])) "
                    "ON CONFLICT (term) DO UPDATE SET df = enrich.story_terms.df + EXCLUDED.df"
                ),
                {"terms": int_array(terms), "counts": int_array(term_documents[t] for t in terms)},
            )
        if new_documents:
            conn.execute(
                text("UPDATE enrich.story_documents SET documents = documents + :n WHERE id = 1"),
                {"n": new_documents},
            )


def _story_row(story: StoryState) -> dict[str, object]:
    terms = sorted(story.terms.items())
    lead = sorted(story.lead.items())
    entities = sorted(story.entities.items())
    return {
        "story_id": story.story_id,
        "terms": int_array(t for t, _ in terms),
        "term_weights": [w for _, w in terms],
        "lead_terms": int_array(t for t, _ in lead),
        "lead_weights": [w for _, w in lead],
        "entity_ids": [e for e, _ in entities],
        "entity_weights": [w for _, w in entities],
        "actors": sorted(story.actors),
        "originals": story.originals,
        "first_day": story.span.first_day,
        "last_day": story.span.last_day,
        "first_seen": story.span.first_seen,
        "last_seen": story.span.last_seen,
    }
