"""The events ingest builds: a file without a headline gets a derived one beside it, never as its title."""

from __future__ import annotations

from datetime import UTC, datetime

from services.ingest.articles import raw_articles
from services.ingest.parsing.formats import parse_file
from shared.events import RawArticle
from shared.identity import sha256_hex
from tests.conftest import SEEDS_DIR


def _events(name: str, data: bytes) -> list[RawArticle]:
    parsed = parse_file(name, data, max_bytes=1 << 20)
    return raw_articles(
        parsed, source_file=name, sha256=sha256_hex(data), size_bytes=len(data), received_at=datetime.now(UTC)
    )


def test_a_file_without_a_headline_gets_a_derived_title_and_keeps_title_none() -> None:
    (seed,) = SEEDS_DIR.glob("000_*.txt")
    (event,) = _events(seed.name, seed.read_bytes())
    assert event.title is None
    assert event.derived_title == (
        "Defence Minister Khawaja Asif has dismissed rumors suggesting that former Prime Minister Imran Khan…"
    )


def test_a_file_with_a_headline_has_no_derived_title() -> None:
    (seed,) = SEEDS_DIR.glob("001_*.txt")
    (event,) = _events(seed.name, seed.read_bytes())
    assert event.title == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert event.derived_title is None


def test_every_record_of_a_json_lines_file_is_titled_on_its_own() -> None:
    data = b'{"title": "Port reopens", "body": "The port reopened."}\n{"body": "Rain fell all day. Roads flooded."}\n'
    first, second = _events("feed.jsonl", data)
    assert (first.title, first.derived_title) == ("Port reopens", None)
    assert (second.title, second.derived_title) == (None, "Rain fell all day")
