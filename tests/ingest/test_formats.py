"""Whole-file parsing: encodings, .gz, HTML, JSON, JSON Lines and every rejection reason (no I/O)."""

from __future__ import annotations

import gzip
import json
import logging
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


_POLISH = "Kraków: Prezydent powiedział, że rozmowy będą kontynuowane w poniedziałek."


def _page(head: str, paragraph: str) -> str:
    return f"<html><head>{head}<title>Rozmowy</title></head><body><article><p>{paragraph}</p></article></body></html>"


@pytest.mark.parametrize(
    "declaration",
    [
        '<meta charset="windows-1250">',
        "<meta charset=windows-1250>",
        '<meta http-equiv="Content-Type" content="text/html; charset=Windows-1250">',
    ],
)
def test_html_declared_charset_wins_over_detection(declaration: str) -> None:
    # Read as cp1252 (what detection picks for these bytes) the text would say "powiedzia³, ¿e".
    page = _page(declaration, _POLISH)
    parsed = parse_file("page.html", page.encode("cp1250"), max_bytes=LIMIT)
    assert parsed.encoding == "cp1250"
    assert _POLISH.split(": ", 1)[1] in parsed.articles[0][1].body


def test_html_latin1_label_is_read_as_browsers_read_it() -> None:
    # Pages labelled ISO-8859-1 use Windows-1252's curly quotes; browsers decode them so.
    page = _page('<meta charset="ISO-8859-1">', "They said “enough”.")
    parsed = parse_file("page.htm", page.encode("cp1252"), max_bytes=LIMIT)
    assert parsed.encoding == "cp1252" and "They said “enough”." in parsed.articles[0][1].body


def test_valid_utf8_beats_a_stale_charset_declaration() -> None:
    # Pages re-saved as UTF-8 often keep their old declaration; decoded as cp1250 they would be garbled.
    page = _page('<meta charset="windows-1250">', _POLISH)
    parsed = parse_file("resaved.html", page.encode("utf-8"), max_bytes=LIMIT)
    assert parsed.encoding == "utf-8" and _POLISH.split(": ", 1)[1] in parsed.articles[0][1].body


_WESTERN = "Owners said “enough” at the café on Monday."


def test_an_unknown_charset_label_falls_back_to_detection() -> None:
    page = _page('<meta charset="x-no-such-charset">', _WESTERN)
    parsed = parse_file("odd.html", page.encode("cp1252"), max_bytes=LIMIT)
    assert parsed.encoding == "cp1252" and _WESTERN in parsed.articles[0][1].body


def test_a_declaration_quoted_in_plain_text_is_not_trusted() -> None:
    # Trusted, koi8-r would turn every accented letter of these cp1252 bytes into Cyrillic.
    text = f'Markup lesson\n\nLONDON: Write <meta charset="koi8-r"> in the head. {_WESTERN}\n'
    parsed = parse_file("lesson.txt", text.encode("cp1252"), max_bytes=LIMIT)
    assert parsed.encoding == "cp1252" and _WESTERN in parsed.articles[0][1].body


def test_deeply_nested_json_is_rejected_with_a_clear_reason() -> None:
    assert _reason("deep.json", b"[" * 100_000 + b"]" * 100_000) == "invalid_json"
    good = json.dumps({"title": "Fine", "body": "A normal record."}).encode()
    parsed = parse_file("deep.jsonl", good + b"\n" + b"[" * 100_000 + b"\n" + good, max_bytes=LIMIT)
    assert [part for part, _ in parsed.articles] == [0, 2]
    ((error),) = parsed.errors
    assert (error.line, error.reason) == (2, "invalid_json") and "nested too deeply" in error.message


def test_an_html_page_without_text_is_rejected_without_library_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert _reason("empty-page.html", b"<html><head></head><body>   </body></html>") == "no_article_text"
    assert [r.name for r in caplog.records if r.name.startswith("trafilatura")] == []
