"""JSON (one article, a list, or {"articles": [...]}) and JSON Lines (one article a line)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from services.ingest.parsing.article import ParsedArticle, RecordError
from services.ingest.parsing.dates import parse_date
from services.ingest.parsing.errors import Rejection, check_unicode
from services.ingest.parsing.plaintext import parse_plain_text
from shared.text import escape_surrogates

# Accepted field names, first found wins; the first of each is the documented one.
FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "title": ("title", "headline"),
    "body": ("body", "text", "content", "article_body", "articleBody"),
    "published_at": ("published_at", "published", "date", "datePublished", "pubDate", "publication_date"),
    "source": ("source", "agency", "publisher", "site_name"),
    "url": ("url", "link"),
    "byline": ("byline", "author", "authors"),
}
_MAX_PAYLOAD_CHARS: Final = 10_000
# A record nested this deep is an attack or a bug; only its start is worth keeping for people.
_PAYLOAD_HEAD_CHARS: Final = 200
_TOO_DEEP: Final = (
    "The JSON is nested too deeply (brackets inside brackets, over a thousand levels) to be an article; "
    "write each article as one object with its fields."
)


def parse_json_document(text: str) -> tuple[list[tuple[int, ParsedArticle]], list[RecordError]]:
    """Articles of a ``.json`` file by position, and the records that could not be read."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Rejection(
            "invalid_json",
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
            "fix the JSON (or name the file .txt if it is plain text).",
        ) from exc
    except RecursionError as exc:
        raise Rejection("invalid_json", _TOO_DEEP) from exc
    if isinstance(document, Mapping) and isinstance(document.get("articles"), list):
        records: list[Any] = document["articles"]
    elif isinstance(document, Mapping):
        records = [document]
    elif isinstance(document, list):
        records = document
    else:
        raise Rejection(
            "invalid_json",
            "The JSON holds a single value; it must be an article object or a list of them.",
        )
    articles: list[tuple[int, ParsedArticle]] = []
    errors: list[RecordError] = []
    for part, record in enumerate(records):
        try:
            articles.append((part, article_from_record(record)))
        except Rejection as exc:
            where = f"Item {part + 1} of the list" if len(records) > 1 else "The article"
            errors.append(RecordError(part, exc.reason, f"{where}: {exc.message}", payload=_payload(record)))
    return articles, errors


def parse_json_lines(text: str) -> tuple[list[tuple[int, ParsedArticle]], list[RecordError]]:
    """Articles of a ``.jsonl``/``.ndjson`` file; a bad line is an error with its line number."""
    articles: list[tuple[int, ParsedArticle]] = []
    errors: list[RecordError] = []
    part = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            errors.append(
                RecordError(
                    part, "invalid_json", f"Line {number}: {_TOO_DEEP}", line=number, payload=line[:_PAYLOAD_HEAD_CHARS]
                )
            )
        except json.JSONDecodeError as exc:
            errors.append(
                RecordError(
                    part,
                    "invalid_json",
                    f"Line {number} is not valid JSON ({exc.msg}, column {exc.colno}); fix that line and "
                    "drop it again in a new file.",
                    line=number,
                    payload=line[:_MAX_PAYLOAD_CHARS],
                )
            )
        else:
            try:
                articles.append((part, article_from_record(record)))
            except Rejection as exc:
                errors.append(
                    RecordError(
                        part,
                        exc.reason,
                        f"Line {number}: {exc.message}",
                        line=number,
                        payload=line[:_MAX_PAYLOAD_CHARS],
                    )
                )
        part += 1
    return articles, errors


def article_from_record(record: object) -> ParsedArticle:
    """One article from a JSON object with the fields in :data:`FIELDS`."""
    if not isinstance(record, Mapping):
        raise Rejection(
            "invalid_record",
            f"expected an object with 'title' and 'body', found a JSON {type(record).__name__}.",
        )
    body = _text_field(record, "body")
    if not body or not body.strip():
        raise Rejection("invalid_record", "has no 'body' (or 'text') field with the article's text; add it.")
    title = _text_field(record, "title")
    article = parse_plain_text(body, title=title, detect_title=not title)
    published = _field(record, "published_at")
    if published not in (None, ""):
        found = parse_date(str(published))
        if found is None:
            raise Rejection(
                "invalid_record",
                f"'published_at' is {published!r}, which is not a date; write it as YYYY-MM-DD.",
            )
        article.published_at = found
    article.source = _text_field(record, "source") or article.source
    article.byline = _text_field(record, "byline") or article.byline
    article.url = _text_field(record, "url") or article.url
    return article


def _field(record: Mapping[str, Any], name: str) -> Any:
    for key in FIELDS[name]:
        if key in record and record[key] is not None:
            return record[key]
    return None


def _text_field(record: Mapping[str, Any], name: str) -> str | None:
    value = _field(record, name)
    if isinstance(value, Mapping):
        value = value.get("name")  # {"source": {"name": "Reuters"}} as news APIs send it
    if isinstance(value, list):
        value = ", ".join(str(item.get("name", item) if isinstance(item, Mapping) else item) for item in value)
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise Rejection("invalid_record", f"'{name}' must be text, found a JSON {type(value).__name__}.")
    text = str(value)
    check_unicode(text, f"'{name}'")
    return text.strip() or None


def _payload(record: object) -> str:
    return escape_surrogates(json.dumps(record, ensure_ascii=False))[:_MAX_PAYLOAD_CHARS]
