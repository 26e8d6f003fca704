"""HTML article pages: main text and metadata without navigation or footers (trafilatura, offline)."""

from __future__ import annotations

import logging
from typing import Any, Final

import trafilatura

from services.ingest.parsing.article import ParsedArticle
from services.ingest.parsing.dates import parse_date
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.plaintext import parse_plain_text

log = logging.getLogger(__name__)
# trafilatura logs an ERROR for every page it cannot read ("empty HTML tree") and much chatter
# below that; newsflow reports such files itself (a reason file and a dead letter), so its
# lines would only be noise in the service's log.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

# Only dates the page states about itself (meta tags, <time>); a guess from any date in the
# text would give articles a wrong published date, which is worse than none.
_DATE_PARAMS: Final[dict[str, Any]] = {"extensive_search": False, "original_date": True}


def parse_html(html: str) -> ParsedArticle:
    """The article in an HTML page; raises :class:`Rejection` when the page has no article text."""
    document = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=_DATE_PARAMS,
    )
    if document is not None and not isinstance(document, dict):
        document = document.as_dict()
    if not isinstance(document, dict) or not (document.get("text") or "").strip():
        raise Rejection(
            "no_article_text",
            "No article text was found in this HTML page (only navigation or scripts); "
            "save the article page itself, or its text as .txt.",
        )
    # trafilatura writes one paragraph a line; blank lines keep them apart for the text rules.
    text = "\n\n".join(line for line in document["text"].split("\n") if line.strip())
    title = document.get("title") or None
    article = parse_plain_text(text, title=title, detect_title=title is None)
    meta_date = parse_date(document.get("date") or "")
    article.published_at = meta_date or article.published_at
    article.byline = document.get("author") or article.byline
    article.source = article.source or document.get("sitename") or None
    article.url = document.get("url") or None
    return article
