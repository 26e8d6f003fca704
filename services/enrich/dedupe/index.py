"""The durable reprint index in Postgres: every query and write reprint detection makes.

Each method is one statement over a whole batch (arrays in, rows out), so a batch of 64
articles costs the same dozen round trips as a batch of one. Lookups join an ``unnest`` of the
keys to the table rather than ``= ANY(:keys)``: the planner then always probes the index per key,
where ``ANY`` of a thousand values on a freshly grown table can tempt it into a sequential scan
(measured: 10x slower at 10k articles). Callers run the methods inside one transaction holding
:data:`DEDUPE_LOCK_KEY` (see ``detector``), which is what makes several replicas decide exactly
as one would.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from services.enrich.dedupe.fingerprint import TextFingerprint
from shared.db import int_array
from shared.events import DuplicateKind, EnrichedArticle, LinkEvidence

# pg_advisory_xact_lock key serialising decide+insert across replicas ("newsflow" + "dedupe").
DEDUPE_LOCK_KEY = 0x6E66_6465_6475_7065
# An anchor found in more articles than this is a stock phrase, not a shared passage: it keeps
# MAX_ANCHOR_POSTINGS + 1 postings (the +1 marks it as stock) and lookups skip it, which keeps
# the cost per article flat as the index grows.
MAX_ANCHOR_POSTINGS = 32


def as_kind(value: str | None) -> DuplicateKind | None:
    """A stored kind column as the event's literal (the column's CHECK allows only these)."""
    if value is None:
        return None
    return "exact" if value == "exact" else "reprint"


def as_evidence(value: Any) -> LinkEvidence | None:
    """A stored evidence column (JSONB, NULL on links made before evidence was recorded)."""
    return None if value is None else LinkEvidence.model_validate(value)


def evidence_json(evidence: LinkEvidence | None) -> str | None:
    return None if evidence is None else evidence.model_dump_json(exclude_none=True)


def pack_content_words(content_words: str) -> bytes:
    """The stored form of ``LetterText.stored()`` (words compress ~3x)."""
    return zlib.compress(content_words.encode("utf-8"))


def _stored_content_words(packed: bytes | None, event: bytes | None) -> str:
    """An indexed article's content paragraphs (``LetterText.stored``); rows indexed before they
    were kept derive them from the event's body."""
    if packed is not None:
        return zlib.decompress(packed).decode("utf-8")
    if event is None:
        return ""
    body = EnrichedArticle.model_validate_json(zlib.decompress(event)).article.body
    return TextFingerprint.of(body).content(()).letters.stored()


@dataclass(frozen=True)
class StoredLink:
    """An indexed article's current group and link."""

    article_id: str
    root_id: str
    kind: DuplicateKind | None
    similarity: float | None
    evidence: LinkEvidence | None = None


@dataclass(frozen=True)
class StoredText:
    """What verifying a candidate needs: its shingles and paragraphs, its group's original."""

    article_id: str
    root_id: str
    root_ingested_at: datetime
    ingested_at: datetime
    shingles: list[int]
    breaks: list[int]
    paragraphs: list[int]
    content_words: str  # LetterText.stored(): the content's words, a paragraph a line


@dataclass(frozen=True)
class NewRow:
    """An article to add to the index."""

    article_id: str
    root_id: str
    kind: str | None
    similarity: float | None
    ingested_at: datetime
    content_hash: str
    shingles: list[int]
    breaks: list[int]
    paragraphs: list[int]
    anchors: list[int]  # the anchors to post (those not yet marked as stock phrases)
    new_paragraphs: list[int]
    event: bytes
    content_words: str = ""  # LetterText.stored()
    evidence: LinkEvidence | None = None


@dataclass(frozen=True)
class Postings:
    """Anchor lookups: the articles holding each anchor (none listed for a stock phrase), and how
    many hold it (``MAX_ANCHOR_POSTINGS + 1`` meaning "more": a stock phrase)."""

    articles: dict[int, list[str]]
    counts: dict[int, int]


@dataclass(frozen=True)
class Regrouped:
    """An indexed article whose group original changed, with its stored event to republish."""

    article_id: str
    root_id: str
    kind: str | None
    similarity: float | None
    event: bytes
    evidence: LinkEvidence | None = None


class DedupeIndex:
    """Batch queries over schema ``enrich`` on a connection the caller manages."""

    def lock(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEDUPE_LOCK_KEY})

    def links(self, conn: Connection, article_ids: Sequence[str]) -> dict[str, StoredLink]:
        rows = _articles_by_id(conn, "a.root_id, a.kind, a.similarity, a.evidence", article_ids)
        return {
            r.article_id: StoredLink(r.article_id, r.root_id, as_kind(r.kind), r.similarity, as_evidence(r.evidence))
            for r in rows
        }

    def paragraph_groups(self, conn: Connection, hashes: Iterable[int]) -> dict[int, int]:
        rows = conn.execute(
            text(
                "SELECT p.hash, p.groups FROM unnest(CAST(:hashes AS bigint[])) AS q(hash) "
                "JOIN enrich.paragraph_groups p ON p.hash = q.hash"
            ),
            {"hashes": int_array(sorted(set(hashes)))},
        )
        return {r.hash: r.groups for r in rows}

    def by_content_hash(self, conn: Connection, content_hashes: Iterable[str]) -> dict[str, str]:
        """content_hash -> an article with that text (any member: callers resolve its group)."""
        rows = conn.execute(
            text(
                "SELECT q.content_hash, f.article_id FROM unnest(CAST(:hashes AS text[])) AS q(content_hash) "
                "CROSS JOIN LATERAL (SELECT a.article_id FROM enrich.articles a "
                "WHERE a.content_hash = q.content_hash ORDER BY a.ingested_at, a.article_id LIMIT 1) AS f"
            ),
            {"hashes": sorted(set(content_hashes))},
        )
        return {r.content_hash: r.article_id for r in rows}

    def postings(self, conn: Connection, anchors: Iterable[int]) -> Postings:
        """The articles holding each anchor; a stock phrase's count only (its articles are never used).

        One row per anchor (its articles as an array): rows, not bytes, are what a lookup costs in
        Python, and at 100k articles many of an article's ~60 anchors are stock phrases.
        """
        rows = conn.execute(
            text(
                "SELECT q.hash, p.n, p.ids FROM unnest(CAST(:anchors AS integer[])) AS q(hash) "
                "CROSS JOIN LATERAL (SELECT count(*) AS n, CASE WHEN count(*) > :cap THEN '{}'::text[] "
                "ELSE array_agg(s.article_id) END AS ids FROM (SELECT a.article_id FROM enrich.anchors a "
                "WHERE a.hash = q.hash LIMIT :limit) AS s) AS p WHERE p.n > 0"
            ),
            {"anchors": int_array(sorted(set(anchors))), "cap": MAX_ANCHOR_POSTINGS, "limit": MAX_ANCHOR_POSTINGS + 1},
        )
        found = Postings({}, {})
        for r in rows:
            found.articles[r.hash] = list(r.ids)
            found.counts[r.hash] = r.n
        return found

    def texts(self, conn: Connection, article_ids: Iterable[str]) -> dict[str, StoredText]:
        rows = conn.execute(
            text(
                "SELECT a.article_id, a.root_id, a.ingested_at, a.shingles, a.breaks, a.paragraphs, a.content_words, "
                "CASE WHEN a.content_words IS NULL THEN a.event END AS event, r.ingested_at AS root_ingested_at "
                "FROM unnest(CAST(:ids AS text[])) AS q(article_id) "
                "JOIN enrich.articles a ON a.article_id = q.article_id "
                "JOIN enrich.articles r ON r.article_id = a.root_id"
            ),
            {"ids": sorted(set(article_ids))},
        )
        return {
            r.article_id: StoredText(
                r.article_id,
                r.root_id,
                r.root_ingested_at,
                r.ingested_at,
                list(r.shingles),
                list(r.breaks),
                list(r.paragraphs),
                _stored_content_words(r.content_words, r.event),
            )
            for r in rows
        }

    def events(self, conn: Connection, article_ids: Iterable[str]) -> dict[str, bytes]:
        """The stored (compressed) enriched events of indexed articles."""
        return {r.article_id: bytes(r.event) for r in _articles_by_id(conn, "a.event", article_ids)}

    def current(self, conn: Connection, article_id: str) -> Regrouped | None:
        """An indexed article's current group and link with its stored event (None if not indexed)."""
        rows = _articles_by_id(conn, "a.root_id, a.kind, a.similarity, a.event, a.evidence", [article_id])
        return next(
            (
                Regrouped(r.article_id, r.root_id, r.kind, r.similarity, bytes(r.event), as_evidence(r.evidence))
                for r in rows
            ),
            None,
        )

    def replace_event(self, conn: Connection, article_id: str, event: bytes) -> None:
        """Store a newer event of an indexed article (its entities tagged in full: ``deferred``)."""
        conn.execute(
            text("UPDATE enrich.articles SET event = :event WHERE article_id = :id"), {"event": event, "id": article_id}
        )

    def regroup(
        self,
        conn: Connection,
        old_root: str,
        new_root: str,
        kind: str,
        similarity: float,
        evidence: LinkEvidence | None,
    ) -> list[Regrouped]:
        """Move group ``old_root`` under ``new_root``; the old original becomes a copy of it."""
        conn.execute(
            text(
                "UPDATE enrich.articles SET kind = :kind, similarity = :similarity, "
                "evidence = CAST(:evidence AS jsonb) WHERE article_id = :old"
            ),
            {"kind": kind, "similarity": similarity, "evidence": evidence_json(evidence), "old": old_root},
        )
        rows = conn.execute(
            text(
                "UPDATE enrich.articles SET root_id = :new WHERE root_id = :old "
                "RETURNING article_id, root_id, kind, similarity, event, evidence"
            ),
            {"new": new_root, "old": old_root},
        )
        return [
            Regrouped(r.article_id, r.root_id, r.kind, r.similarity, bytes(r.event), as_evidence(r.evidence))
            for r in rows
        ]

    def insert(self, conn: Connection, rows: Sequence[NewRow]) -> None:
        if not rows:
            return
        conn.execute(
            text(
                "INSERT INTO enrich.articles (article_id, root_id, kind, similarity, evidence, ingested_at, "
                "content_hash, shingles, breaks, paragraphs, content_words, event) VALUES (:article_id, :root_id, "
                ":kind, :similarity, CAST(:evidence AS jsonb), :ingested_at, :content_hash, "
                "CAST(:shingles AS integer[]), CAST(:breaks AS integer[]), CAST(:paragraphs AS bigint[]), "
                ":content_words, :event) "
                "ON CONFLICT (article_id) DO NOTHING"
            ),
            [
                {
                    "article_id": r.article_id,
                    "root_id": r.root_id,
                    "kind": r.kind,
                    "similarity": r.similarity,
                    "evidence": evidence_json(r.evidence),
                    "ingested_at": r.ingested_at,
                    "content_hash": r.content_hash,
                    "shingles": int_array(r.shingles),
                    "breaks": int_array(r.breaks),
                    "paragraphs": int_array(r.paragraphs),
                    "content_words": pack_content_words(r.content_words),
                    "event": r.event,
                }
                for r in rows
            ],
        )
        # The caller posts only anchors still under the cap (it holds the lock, so counts are exact).
        conn.execute(
            text(
                "INSERT INTO enrich.anchors (hash, article_id) "
                "SELECT * FROM unnest(CAST(:hashes AS integer[]), CAST(:ids AS text[])) ON CONFLICT DO NOTHING"
            ),
            {
                "hashes": int_array(h for r in rows for h in r.anchors),
                "ids": [r.article_id for r in rows for _ in r.anchors],
            },
        )
        paragraph_hashes = [h for r in rows for h in r.new_paragraphs]
        if paragraph_hashes:
            conn.execute(
                text(
                    "INSERT INTO enrich.paragraph_groups (hash, groups) "
                    "SELECT h, count(*) FROM unnest(CAST(:hashes AS bigint[])) AS h GROUP BY h "
                    "ON CONFLICT (hash) DO UPDATE SET groups = enrich.paragraph_groups.groups + EXCLUDED.groups"
                ),
                {"hashes": int_array(paragraph_hashes)},
            )


def _articles_by_id(conn: Connection, columns: str, article_ids: Iterable[str]) -> Sequence[Row[Any]]:
    """``article_id`` and ``columns`` (a constant list of ``a.`` columns) of the indexed ``article_ids``."""
    return conn.execute(
        text(
            f"SELECT a.article_id, {columns} FROM unnest(CAST(:ids AS text[])) AS q(article_id) "
            "JOIN enrich.articles a ON a.article_id = q.article_id"
        ),
        {"ids": sorted(set(article_ids))},
    ).all()
