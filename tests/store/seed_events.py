"""Enriched events built from the five seed files, with hand-made metadata and entity lists (test data).

Metadata follows issue 2's acceptance (seed 001's title, the published dates of 001-004, seed 000
undated). Entities list only surface forms that really occur in the text: ``_entity`` counts them
and fails loudly if a listed form is absent, so the test data cannot drift from the seeds. A sixth
event is a reprint of seed 003 (another outlet, a dateline added), linked to its original.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from shared.consumer import Delivery
from shared.events import (
    TOPIC_ENRICHED,
    DuplicateLink,
    EnrichedArticle,
    EntityRef,
    EntityType,
    LinkEvidence,
    RawArticle,
)
from shared.identity import article_id, entity_id, sha256_hex
from tests.conftest import SEEDS_DIR

BASE_TIME = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SEED_TITLES = {
    "001": "Asif rules out possibility of pressure from US for Imran Khan's release",
    "003": (
        "Pakistanis believe Trump's potential return to power could lead to diplomatic support "
        "for Imran Khan's release."
    ),
}
SEED_DATES = {"001": date(2025, 2, 4), "002": date(2024, 11, 7), "003": date(2024, 11, 3), "004": date(2024, 11, 8)}
SEED_SOURCES = {"004": "IANS"}
SEED_ENTITIES: dict[str, list[tuple[EntityType, str, tuple[str, ...]]]] = {
    "000": [
        ("PERSON", "Khawaja Asif", ("Khawaja Asif", "Asif")),
        ("PERSON", "Imran Khan", ("Imran Khan", "Khan")),
        ("LOCATION", "United States", ("United States", "U.S.")),
        ("PERSON", "Donald Trump", ("Donald Trump", "Trump")),
        ("ORG", "PTI", ("PTI",)),
        ("PERSON", "Zulfi Bukhari", ("Zulfi Bukhari",)),
        ("PERSON", "Nawaz Sharif", ("Nawaz Sharif",)),
        ("LOCATION", "Pakistan", ("Pakistan",)),
    ],
    "001": [
        ("PERSON", "Khawaja Asif", ("Khawaja Asif", "Asif")),
        ("PERSON", "Imran Khan", ("Imran Khan",)),
        ("LOCATION", "United States", ("United States", "US")),
        ("LOCATION", "Islamabad", ("Islamabad",)),
        ("PERSON", "Tommy Tuberville", ("Tuberville",)),
    ],
    "002": [
        ("ORG", "PTI", ("Pakistan Tehreek-e-Insaf", "PTI")),
        ("PERSON", "Imran Khan", ("Imran Khan", "Khan")),
        ("PERSON", "Zulfi Bukhari", ("Zulfi Bukhari", "Bukhari")),
        ("PERSON", "Donald Trump", ("Trump",)),
        ("PERSON", "Mumtaz Zahra Baloch", ("Mumtaz Zahra Baloch",)),
    ],
    "003": [
        ("PERSON", "Donald Trump", ("Donald Trump", "Trump")),
        ("PERSON", "Imran Khan", ("Imran Khan", "Khan")),
        ("LOCATION", "Pakistan", ("Pakistan",)),
        ("LOCATION", "Islamabad", ("Islamabad",)),
    ],
    "004": [
        ("PERSON", "Donald Trump", ("Donald Trump", "Trump")),
        ("LOCATION", "Pakistan", ("Pakistan",)),
        ("LOCATION", "Islamabad", ("Islamabad",)),
        ("PERSON", "Imran Khan", ("Imran Khan",)),
        ("ORG", "IANS", ("IANS",)),
    ],
}
REPRINT_FILE = "reprint_of_003.txt"


def _entity(text: str, entity_type: EntityType, name: str, forms: tuple[str, ...]) -> EntityRef:
    counts = {form: len(re.findall(rf"(?<!\w){re.escape(form)}(?!\w)", text)) for form in forms}
    missing = [form for form, n in counts.items() if n == 0]
    assert not missing, f"test data: {missing} not in the text for {name}"
    return EntityRef(
        id=entity_id(entity_type, name), name=name, type=entity_type, mentions=list(forms), count=sum(counts.values())
    )


def text_article(
    source_file: str,
    data: bytes,
    *,
    body: str,
    title: str | None,
    published: date | None,
    source: str | None,
    ingested: datetime,
) -> RawArticle:
    """The raw event ingest publishes for a plain-text file with these bytes (received 2 s before)."""
    digest = sha256_hex(data)
    return RawArticle(
        article_id=article_id(source_file, digest),
        source_file=source_file,
        sha256=digest,
        size_bytes=len(data),
        content_type="text",
        encoding="utf-8",
        title=title,
        body=body,
        published_at=published,
        source=source,
        received_at=ingested - timedelta(seconds=2),
        ingested_at=ingested,
    )


def _event(
    source_file: str,
    data: bytes,
    prefix: str,
    index: int,
    *,
    duplicate: DuplicateLink | None = None,
    source: str | None = None,
) -> EnrichedArticle:
    body = data.decode("utf-8").strip()
    title = SEED_TITLES.get(prefix)
    ingested = BASE_TIME + timedelta(minutes=index)
    raw = text_article(
        source_file,
        data,
        body=body,
        title=title,
        published=SEED_DATES.get(prefix),
        source=source or SEED_SOURCES.get(prefix),
        ingested=ingested,
    )
    text = f"{title or ''}\n{body}"
    return EnrichedArticle(
        article=raw,
        entities=[_entity(text, t, name, forms) for t, name, forms in SEED_ENTITIES[prefix]],
        duplicate=duplicate,
        content_hash=sha256_hex(body.encode("utf-8")),
        enriched_at=ingested + timedelta(seconds=1),
    )


def seed_events() -> list[EnrichedArticle]:
    """The five seeds as enriched events, then the reprint of seed 003."""
    events = []
    for index, path in enumerate(sorted(SEEDS_DIR.glob("*.txt"))):
        events.append(_event(path.name, path.read_bytes(), path.name[:3], index))
    original = next(event for event in events if event.article.source_file.startswith("003"))
    reprint_bytes = b"KARACHI (Wire) - " + (SEEDS_DIR / original.article.source_file).read_bytes()
    events.append(
        _event(
            REPRINT_FILE,
            reprint_bytes,
            "003",
            len(events),
            duplicate=DuplicateLink(
                duplicate_of=original.article.article_id,
                kind="reprint",
                similarity=0.94,
                evidence=LinkEvidence(
                    method="shared_passages", matched_article=original.article.article_id, passage_overlap=0.94
                ),
            ),
            source="Wire",
        )
    )
    return events


def by_prefix(events: list[EnrichedArticle]) -> dict[str, EnrichedArticle]:
    return {event.article.source_file[:3]: event for event in events if event.duplicate is None}


def deliveries(events: Sequence[EnrichedArticle], first_offset: int = 0) -> list[Delivery[EnrichedArticle]]:
    """Events as the consumer loop hands them to a handler."""
    return [Delivery(event, TOPIC_ENRICHED, 0, first_offset + i, 0) for i, event in enumerate(events)]
