"""The parsed form of one article, before it becomes a ``RawArticle`` event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class ParsedArticle:
    """What a parser understood of one article; ``body`` is never empty."""

    body: str
    title: str | None = None
    boilerplate: list[str] = field(default_factory=list)
    published_at: date | None = None
    dateline: str | None = None
    source: str | None = None
    byline: str | None = None
    url: str | None = None


@dataclass
class RecordError:
    """One bad record inside a multi-article file (the other records still go on)."""

    part: int
    reason: str
    message: str
    line: int | None = None
    payload: str | None = None


@dataclass
class ParsedFile:
    """Everything one file yielded: its articles by part number and its bad records."""

    content_type: str
    encoding: str | None
    articles: list[tuple[int, ParsedArticle]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
