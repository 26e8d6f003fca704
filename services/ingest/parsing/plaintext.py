"""Plain-text news as people save it from the web: header lines, dateline, body, site leftovers.

The text is read as paragraphs. The *header* (the first few paragraphs) may hold a title,
related headlines, date lines and a byline; the first paragraph may open with a dateline;
the *tail* may hold credits, site furniture and an author bio. Everything taken out of the
body is kept, in reading order, in ``boilerplate``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from services.ingest.parsing import boilerplate
from services.ingest.parsing.article import ParsedArticle
from services.ingest.parsing.datelines import find_dateline
from services.ingest.parsing.dates import date_line
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.text import ascii_quotes, collapse_spaces, normalise_text, split_paragraphs

# Headers longer than this are body text; so are header zones longer than the paragraph limit.
TITLE_MAX_CHARS: Final = 200
TITLE_MAX_WORDS: Final = 30
HEADER_MAX_PARAGRAPHS: Final = 8
TAIL_MAX_PARAGRAPHS: Final = 10
# Furniture this short is dropped wherever it sits; longer furniture only from the tail.
_INLINE_FURNITURE_MAX_WORDS: Final = 12
# "Title | Site": a suffix this short after a bar is the outlet, not part of the headline.
_SITE_SUFFIX = re.compile(r"(?P<title>.+?)\s+\|\s+(?P<site>[^|]{2,40})")
_SITE_SUFFIX_MAX_WORDS: Final = 4
# Ends like a sentence (an ellipsis "..." does not count: teaser headlines use it).
_SENTENCE_END = re.compile(r"(?:(?<!\.)\.|[:;,])['\"’”)]*$")


def parse_plain_text(text: str, *, title: str | None = None, detect_title: bool = True) -> ParsedArticle:
    """Understand one plain-text article. ``title`` (from metadata) wins over a detected one.

    Raises :class:`Rejection` (``no_article_text``) when nothing but boilerplate is left.
    """
    paragraphs = split_paragraphs(normalise_text(text))
    article = ParsedArticle(body="")
    removed, headings, start = _read_header(paragraphs, article)
    last_meta = max((position for position, _ in removed), default=-1)
    body = list(enumerate(paragraphs))[start:]

    known_title = _clean_title(title, article) if title else None
    if known_title:
        article.title = known_title
        # A page's own headline repeated at the top of the text is not body text.
        for position, heading in headings:
            if _clean_title(heading, None).casefold() == known_title.casefold():
                removed.append((position, heading))
            else:
                body.append((position, heading))
        body.sort()
    elif detect_title and headings and body:
        article.title = _clean_title(headings[0][1], article)
        # Headlines above the date or byline are related links and captions; one right above
        # the story is its standfirst, which belongs to the body.
        for position, heading in headings[1:]:
            (removed if position < last_meta else body).append((position, heading))
        body.sort()
    else:
        body = headings + body

    if body:
        dateline = find_dateline(body[0][1])
        if dateline:
            article.dateline = dateline.place
            article.source = article.source or dateline.agency
            body[0] = (body[0][0], dateline.rest)

    kept: list[tuple[int, str]] = []
    for position, paragraph in body:
        # Short furniture inside the body ("Advertisement", "Also read: ...") goes wherever it is.
        if boilerplate.is_site_furniture(paragraph) and len(paragraph.split()) <= _INLINE_FURNITURE_MAX_WORDS:
            removed.append((position, paragraph))
        else:
            kept.append((position, paragraph))
    kept = _strip_tail(kept, article, removed)
    if not kept:
        raise Rejection(
            "no_article_text",
            "No article text is left once headers and site boilerplate are removed; "
            "drop the file with the article's text in it.",
        )
    article.body = "\n\n".join(paragraph for _, paragraph in kept)
    article.boilerplate = [paragraph for _, paragraph in sorted(removed)]
    return article


def _read_header(
    paragraphs: list[str], article: ParsedArticle
) -> tuple[list[tuple[int, str]], list[tuple[int, str]], int]:
    """Consume header paragraphs: returns (removed, heading candidates, index of the body)."""
    removed: list[tuple[int, str]] = []
    headings: list[tuple[int, str]] = []
    update_date: date | None = None
    index = 0
    while index < min(len(paragraphs), HEADER_MAX_PARAGRAPHS):
        paragraph = paragraphs[index]
        dated = date_line(paragraph)
        credited = boilerplate.byline(paragraph)
        if dated:
            found, is_update = dated
            if is_update:
                update_date = update_date or found
            else:
                article.published_at = article.published_at or found
            removed.append((index, paragraph))
        elif credited:
            article.byline = article.byline or credited[0]
            article.source = article.source or credited[1]
            removed.append((index, paragraph))
        elif boilerplate.is_site_furniture(paragraph):
            removed.append((index, paragraph))
        elif find_dateline(paragraph):
            break
        elif _looks_like_heading(paragraph) or (
            _is_short(paragraph) and _next_body_opens_with_dateline(paragraphs, index + 1)
        ):
            headings.append((index, paragraph))
        else:
            break
        index += 1
    if article.published_at is None:
        article.published_at = update_date
    return removed, headings, index


def _is_short(paragraph: str) -> bool:
    return len(paragraph) <= TITLE_MAX_CHARS and len(paragraph.split()) <= TITLE_MAX_WORDS


def _looks_like_heading(paragraph: str) -> bool:
    return _is_short(paragraph) and not _SENTENCE_END.search(paragraph)


def _next_body_opens_with_dateline(paragraphs: list[str], index: int) -> bool:
    # A one-sentence headline ("Pakistanis believe ... release.") is recognised by the
    # dateline that opens the story right after it.
    for paragraph in paragraphs[index : index + 3]:
        if date_line(paragraph) or boilerplate.byline(paragraph):
            continue
        return find_dateline(paragraph) is not None
    return False


def _strip_tail(
    body: list[tuple[int, str]], article: ParsedArticle, removed: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    taken = 0
    while len(body) > 1 and taken < TAIL_MAX_PARAGRAPHS:
        last = body[-1][1]
        agency = boilerplate.attribution(last)
        if agency:
            # A closing credit names the agency that supplied the story: it wins over others.
            article.source = agency
        elif not (boilerplate.is_site_furniture(last) or boilerplate.is_author_bio(last)):
            break
        removed.append(body.pop())
        taken += 1
    return body


def _clean_title(raw: str, article: ParsedArticle | None) -> str:
    title = collapse_spaces(ascii_quotes(normalise_text(raw)))
    suffix = _SITE_SUFFIX.fullmatch(title)
    if suffix and len(suffix.group("site").split()) <= _SITE_SUFFIX_MAX_WORDS:
        title = suffix.group("title")
        if article is not None:
            article.source = article.source or suffix.group("site").strip()
    # Headlines carry no full stop; keep one that ends an abbreviation ("U.S.").
    if title.endswith(".") and not re.search(r"\b[A-Z]\.$", title):
        title = title[:-1].rstrip()
    return title
