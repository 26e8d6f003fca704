"""Text that is not the article: site furniture, agency credits, bylines and author bios.

Each test looks at one paragraph. Site furniture is recognised by phrases ("Leave a Comment",
"Scroll to Top", "Follow us on ..."): a paragraph is furniture when nothing but such phrases
remains in it, so a real sentence that happens to contain one is kept.
"""

from __future__ import annotations

import re
from typing import Final

_SITE_PHRASES: Final = re.compile(
    "|".join(
        [
            r"leave a (?:comment|reply)",
            r"cancel reply",
            r"your email address will not be published\.?",
            r"required fields are marked\s*\*?",
            r"scroll to top",
            r"back to top",
            r"skip to (?:main )?content",
            r"follow us on [^.\n]*?(?:\.|$)",
            r"subscribe to (?:our|the) [^.\n]*?(?:\.|$)",
            r"sign up (?:for|to) [^.\n]*?(?:\.|$)",
            r"\(this (?:story|article|report) has not been edited[^)]*\)",
            r"all rights reserved\.?",
            r"copyright\s*(?:©|\(c\))?\s*\d{4}[^.\n]*\.?",
            r"©\s*\d{4}[^.\n]*\.?",
            r"share (?:this|on)(?: article| story| post)?(?: on)?\s*:?"
            r"(?:\s*(?:facebook|twitter|x|whatsapp|linkedin|email),?)*",
            r"click here [^.\n]*?(?:\.|$)",
            r"(?:also read|read more|read also|related(?: articles| stories| posts)?)\s*:.*",
            r"(?:advertisement|sponsored content|story continues below(?: advertisement)?)",
            r"(?:facebook|twitter|whatsapp|linkedin|email|print)(?=\s|$)",
        ]
    ),
    re.I | re.M,
)
_WORD = re.compile(r"\w+")
# A paragraph stays body text if more than this many words are left after removing furniture.
_MAX_RESIDUE_WORDS: Final = 1
# Site furniture is short; a paragraph longer than this is text (whatever phrases it quotes).
_MAX_FURNITURE_CHARS: Final = 2000

_ATTRIBUTION: Final = (
    re.compile(r"(?:source|sources|courtesy|credit|via|with inputs from)\s*:\s*(?P<agency>[^\n]{2,60}?)\.?", re.I),
    re.compile(r"[-–—]\s*(?P<agency>[A-Z][\w.&' ]{1,40})"),
    re.compile(r"\((?P<agency>[A-Z][\w.&' ]{1,30})\)"),
)
_BYLINE = re.compile(r"by\s+(?P<name>[A-Z][^\n]{1,80}?)\s*(?:\|.*)?", re.I)
_MAX_BYLINE_WORDS: Final = 10
_STAFF_SUFFIX = re.compile(r"(?P<agency>.+?)\s+(?:staff(?: reporter| writer)?|news desk|desk|bureau)$", re.I)

_FIRST_PERSON_START = re.compile(r"(?:about the author\b|about me\b|i am\b|i'm\b|i have been\b|i've been\b)", re.I)
_THIRD_PERSON_BIO = re.compile(
    r"[A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3} is an? (?:[\w\-,]+ ){0,6}?"
    r"(?:writer|journalist|reporter|columnist|correspondent|editor|contributor|author|blogger)\b",
)
_CAREER = re.compile(
    r"\b(?:writer|journalist|journalism|reporter|columnist|correspondent|editor|contributor|author|blogger"
    r"|freelance|analyst)\b",
    re.I,
)
_MAX_THIRD_PERSON_BIO_WORDS: Final = 80


def is_site_furniture(paragraph: str) -> bool:
    """True when ``paragraph`` is only site furniture (comment forms, share links, footers)."""
    if len(paragraph) > _MAX_FURNITURE_CHARS:
        return False  # and a 2 MB single line is not searched for phrases at every character
    if not _SITE_PHRASES.search(paragraph):
        return False
    residue = _SITE_PHRASES.sub(" ", paragraph)
    return len(_WORD.findall(residue)) <= _MAX_RESIDUE_WORDS


def attribution(paragraph: str) -> str | None:
    """The agency of a credit line ("Source: IANS", "- AFP", "(Reuters)"), else None."""
    if len(paragraph) > 80:
        return None
    for form in _ATTRIBUTION:
        match = form.fullmatch(paragraph.strip())
        if match:
            return match.group("agency").strip()
    return None


def byline(paragraph: str) -> tuple[str, str | None] | None:
    """``(name, agency)`` of a "By ..." line; agency is set for "By Reuters Staff"."""
    match = _BYLINE.fullmatch(paragraph.strip())
    if not match or len(match.group("name").split()) > _MAX_BYLINE_WORDS:
        return None
    name = match.group("name").strip().rstrip(",.")
    staff = _STAFF_SUFFIX.fullmatch(name)
    return name, (staff.group("agency") if staff else None)


def is_author_bio(paragraph: str) -> bool:
    """True for an author's self-description or a short "X is a journalist ..." note."""
    if _FIRST_PERSON_START.match(paragraph):
        return paragraph.lower().startswith("about") or bool(_CAREER.search(paragraph))
    words = len(paragraph.split())
    return words <= _MAX_THIRD_PERSON_BIO_WORDS and bool(_THIRD_PERSON_BIO.match(paragraph))
