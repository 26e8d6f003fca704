"""Whole-file parsing: encodings, .gz, HTML, JSON, JSON Lines and every rejection reason (no I/O)."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import date

import pytest

from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.formats import parse_file
from tests.conftest import SEEDS_DIR

LIMIT = 10 * 1024 * 1024
ARTICLE = "Café owners protest\n\nPARIS: Café owners said “enough” on Monday — and closed early.\n"


def _seed_001() -> bytes:
    (path,) = SEEDS_DIR.glob("001_*.txt")
    return path.read_bytes()


def _reason(name: str, data: bytes, limit: int = LIMIT) -> str:
    with pytest.raises(Rejection) as caught:
        parse_file(name, data, max_bytes=limit)
    assert caught.value.message.endswith(".") and len(caught.value.message) > 30, "a sentence for people"
    return caught.value.reason


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ARTICLE.encode("cp1252"), "cp1252"),
        (ARTICLE.encode("utf-16"), "utf-16"),
        (b"\xef\xbb\xbf" + ARTICLE.replace("\n", "\r\n").encode("utf-8"), "utf-8-sig"),
        (ARTICLE.encode("utf-8"), "utf-8"),
    ],
)
def test_encodings_are_detected_and_text_comes_through_intact(data: bytes, encoding: str) -> None:
    parsed = parse_file("cafe.txt", data, max_bytes=LIMIT)
    ((part, article),) = parsed.articles
    assert (part, parsed.encoding, parsed.content_type) == (0, encoding, "text")
    assert article.title == "Café owners protest"
    assert article.dateline == "Paris"
    assert article.body == "Café owners said “enough” on Monday — and closed early."


def test_gzip_of_a_seed_is_read_like_the_seed() -> None:
    parsed = parse_file("001.txt.gz", gzip.compress(_seed_001()), max_bytes=LIMIT)
    article = parsed.articles[0][1]
    assert article.title == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert article.published_at == date(2025, 2, 4)


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = bomb.compress(b"\0" * (50 * 1024 * 1024)) + bomb.flush()
    assert _reason("bomb.txt.gz", data, limit=1024 * 1024) == "too_large"


def test_truncated_gzip_is_corrupt() -> None:
    assert _reason("cut.txt.gz", gzip.compress(_seed_001())[:200]) == "corrupt_gzip"


def test_html_page_gives_title_date_and_text_without_navigation() -> None:
    html = (
        "<html><head><title>Asif rules out possibility of pressure from US for Imran Khan’s release | News</title>"
        '<meta property="article:published_time" content="2025-02-04T09:00:00+05:00"></head><body>'
        '<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav><article>'
        "<h1>Asif rules out possibility of pressure from US for Imran Khan’s release</h1>"
        "<p>Defence Minister Khawaja Asif has firmly dismissed any possibility of external pressure from the "
        "United States regarding the release of former Prime Minister Imran Khan.</p>"
        "<p>Asif’s comments were in response to growing speculation about the new US administration.</p>"
        "</article><footer>Copyright 2025 News. All rights reserved.</footer></body></html>"
    )
    parsed = parse_file("page.html", html.encode(), max_bytes=LIMIT)
    article = parsed.articles[0][1]
    assert parsed.content_type == "html"
    assert article.title == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert article.published_at == date(2025, 2, 4)
    assert article.body.startswith("Defence Minister Khawaja Asif")
    assert "Home" not in article.body and "Copyright" not in article.body


def test_json_object_and_list() -> None:
    one = {"title": "A", "body": "Text of A.", "published_at": "2024-11-07", "source": "AFP", "byline": "X"}
    parsed = parse_file("one.json", json.dumps(one).encode(), max_bytes=LIMIT)
    article = parsed.articles[0][1]
    assert (article.title, article.body, article.published_at, article.source) == (
        "A",
        "Text of A.",
        date(2024, 11, 7),
        "AFP",
    )
    many = [one, {"headline": "B", "text": "Text of B."}, {"title": "no body"}]
    parsed = parse_file("many.json", json.dumps(many).encode(), max_bytes=LIMIT)
    assert [part for part, _ in parsed.articles] == [0, 1]
    assert [(e.part, e.reason) for e in parsed.errors] == [(2, "invalid_record")]


def test_json_lines_bad_line_is_reported_with_its_number_and_the_rest_go_on() -> None:
    lines = [json.dumps({"title": f"T{i}", "body": f"Body {i}."}) for i in range(3)]
    data = "\n".join([lines[0], "{not json", lines[1], "", lines[2]]).encode()
    parsed = parse_file("feed.ndjson", data, max_bytes=LIMIT)
    assert [a.title for _, a in parsed.articles] == ["T0", "T1", "T2"]
    ((error),) = parsed.errors
    assert (error.line, error.reason, error.payload) == (2, "invalid_json", "{not json")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\t\r\n  ", "blank"),
        ("noise.txt", bytes(range(256)) * 8, "binary"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "unsupported_type"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "binary"),
        ("broken.json", b'{"title": "x", "body": ', "invalid_json"),
        ("report.pdf", b"%PDF-1.7 ...", "unsupported_type"),
        ("all-bad.jsonl", b"{oops\n[1, 2]\n", "invalid_json"),
        ("bad-utf16.txt", b"\xff\xfe" + b"\x00\xd8" * 3, "undecodable"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(name: str, data: bytes, reason: str) -> None:
    assert _reason(name, data) == reason


def test_unknown_extension_with_text_is_read_as_text() -> None:
    parsed = parse_file("Mr. Smith goes to town", ARTICLE.encode(), max_bytes=LIMIT)
    assert parsed.content_type == "text"
