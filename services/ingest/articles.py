"""From a parsed file to its ``news.raw.v1`` events, with the stable identities everything relies on.

Ingest and replay both build events here, so the same name and bytes always give the same
``article_id`` (and the store's upsert keeps one record however often a file is published).
"""

from __future__ import annotations

from datetime import datetime

from services.ingest.parsing.article import ParsedArticle, ParsedFile
from services.ingest.parsing.errors import check_unicode
from shared.events import Origin, RawArticle, utcnow
from shared.identity import article_id
from shared.titles import derive_title


def raw_articles(
    parsed: ParsedFile,
    *,
    source_file: str,
    sha256: str,
    size_bytes: int,
    received_at: datetime,
    origin: Origin = "live",
) -> list[RawArticle]:
    """One event per article of ``parsed``, the file named ``source_file`` (relative to the inbox).

    Every text is checked to be valid Unicode first (whatever format it came from): a lone surrogate
    rejects the file with a reason instead of failing at the broker or in Postgres.
    """
    for _, article in parsed.articles:
        _check_texts(article)
    return [
        RawArticle(
            article_id=article_id(source_file, sha256, part),
            source_file=source_file,
            part=part,
            sha256=sha256,
            size_bytes=size_bytes,
            content_type=parsed.content_type,
            encoding=parsed.encoding,
            title=article.title,
            derived_title=None if article.title else derive_title(article.body),
            body=article.body,
            boilerplate=article.boilerplate,
            published_at=article.published_at,
            dateline=article.dateline,
            source=article.source,
            byline=article.byline,
            url=article.url,
            received_at=received_at,
            ingested_at=utcnow(),
            origin=origin,
        )
        for part, article in parsed.articles
    ]


def _check_texts(article: ParsedArticle) -> None:
    fields = {
        "title": article.title,
        "body": article.body,
        "dateline": article.dateline,
        "source": article.source,
        "byline": article.byline,
        "url": article.url,
    }
    for name, value in fields.items():
        if value:
            check_unicode(value, f"The article's {name}")
    for paragraph in article.boilerplate:
        check_unicode(paragraph, "The article's removed boilerplate")
