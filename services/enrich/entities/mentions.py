"""Entity mentions in one article: spaCy's spans cleaned up, then made consistent in the article.

A *mention* is a span of the article text with a type. spaCy's spans are trimmed to what a
reader would call the name (no leading "the", no title such as "Mr" or "Defence Minister", no
trailing possessive or score, no half of a parenthesis), then every further occurrence of a
tagged name in the same article is tagged too (the small model often finds "Simmons" once and
misses it twice). A bare portfolio word before a title ("Defence" of "Defence Minister") is a
title, not an organisation, and is dropped; before "Ministry" it is the ministry's name.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from spacy.tokens import Doc

from services.enrich.entities.acronyms import find_definitions
from services.enrich.entities.casing import shouting_spans
from services.enrich.entities.gazetteer import is_demonym
from services.enrich.entities.vocabulary import LABEL_TYPES, PERSON_TITLES, PORTFOLIO_WORDS
from shared.events import EntityType

# Sorts after every (start, end) pair with the same start, for bisecting sorted spans.
_AFTER_ANY_END = sys.maxsize

_DETERMINERS = frozenset({"the", "a", "an"})
_TRAILING_POSSESSIVE = re.compile(r"(?:['’]s|s['’]|['’])$")
_EDGE_JUNK = " \t\n\"'“”‘’`()[]{}<>,;:.!?-–—*|/"
_HAS_UPPER = re.compile(r"[A-Z\u00c0-\u00de]")
_WORD_RE = re.compile(r"\S+")
_INITIAL = re.compile(r"[A-Z]\.")
# Words that open a sentence before a name but are never part of one ("As Trump said", "In Lahore").
_LEADING_FUNCTION_WORDS = frozenset(
    {"as", "in", "at", "on", "for", "but", "and", "if", "when", "while", "after", "since", "with", "from", "to"}
)
# A sentence adverb opening a sentence: "Interestingly, ...", "Ultimately, ..." (not "Italy, ...").
_SENTENCE_ADVERB = re.compile(r"[A-Z][a-z]{4,}ly")
_SENTENCE_START = re.compile(r"(?:^|[.!?:][\"'’”)]*\s+)$")
# A last word in lower case, alone or after a hyphen ("New York-based", "Dhoni-starrer", "Goat or").
_LOWER_CASE_TAIL = re.compile(r"(?:[ \t]+|-)[a-z]+$")
# "U.S.", "U.N.", "Inc.": the final period belongs to the abbreviation.
_ABBREVIATION_END = re.compile(r"(?:\b[A-Za-z]\.){2,}$|\b(?:Inc|Corp|Co|Ltd|Jr|Sr|St|Bros)\.$")
# Wire datelines: a place in capitals opening a line, then a date, "(Agency) -" or a colon.
# ("SOCCER - ..." is a headline's section slug, not a place, hence no bare dash.)
DATELINE = re.compile(
    r"^[ \t]*([A-Z][A-Z.'’-]+(?:[ ][A-Z][A-Z.'’-]+){0,3})"
    r"(?=,?[ \t]*(?:\d{4}-\d{2}-\d{2}|\([A-Za-z][\w .-]*\)[ \t]*[-–—:]|:[ \t]))",
    re.MULTILINE,
)
# A name is never cut inside brackets: "Foreign Ministry (FO" is "Foreign Ministry".
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
# The title words that make a portfolio half of a person's title, and the ministry words that
# make it half of an organisation's name (the mention is widened to "Defence Ministry").
_TITLE_AFTER = re.compile(r"[ \t]+(?:Minister|Secretary|Chief)\b", re.IGNORECASE)
_TITLE_BEFORE = re.compile(r"\b(?:Minister|Secretary)[ \t]+(?:of|for)[ \t]+(?:the[ \t]+)?$", re.IGNORECASE)
_MINISTRY_AFTER = re.compile(r"[ \t]+(?:Ministry|Department)\b", re.IGNORECASE)
_TITLE_WORDS = frozenset({"minister", "secretary"})
_TITLE_BEFORE_CHARS = 40  # "Secretary of the " and then some: how far back to look for the title
# A name never ends with a number ("G. Kersey 63" in a scorecard is Kersey with a score).
_TRAILING_NUMBER = re.compile(r"(?:\s+[\d.,/-]+)+$")


@dataclass(frozen=True)
class Mention:
    """A typed span of the article text; ``text`` is exactly what the article says there."""

    start: int
    end: int
    text: str
    type: EntityType
    # spaCy's own spans vote for an entity's type; propagated copies only repeat the vote.
    from_model: bool = True


def _strip_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without punctuation or space at either edge, an abbreviation's final "." kept."""
    while start < end and text[start] in _EDGE_JUNK:
        start += 1
    while end > start and text[end - 1] in _EDGE_JUNK:
        if text[end - 1] == "." and _ABBREVIATION_END.search(text, start, end):
            break
        end -= 1
    return start, end


def _trim(text: str, start: int, end: int, entity_type: EntityType) -> tuple[int, int]:
    """Shrink [start, end) of ``text`` to the name itself."""
    start, end = _strip_edges(text, start, end)
    start, end = _strip_edges(text, *_balance_brackets(text, start, end))
    span = text[start:end]
    numbered = _TRAILING_NUMBER.search(span)
    if numbered:
        end = start + numbered.start()
    possessive = _TRAILING_POSSESSIVE.search(text[start:end])
    if possessive and end - start - len(possessive.group(0)) > 1:
        end -= len(possessive.group(0))
    # "New York-based", "Rajput-starrer", "Goat or": a name does not end in a lower-case word.
    while (tail := _LOWER_CASE_TAIL.search(text, start, end)) is not None and tail.start() > start:
        end = tail.start()
    # Leading determiners always; leading titles for people ("Defence Minister Khawaja Asif").
    while True:
        first = _WORD_RE.match(text, start)
        if first is None or first.end() >= end:
            break
        if _INITIAL.fullmatch(first.group(0)):
            break  # "A. Flower": an initial, not the article "a"
        word = first.group(0).rstrip(".").casefold()
        leading_word = first.group(0).istitle() and word in _LEADING_FUNCTION_WORDS  # "As Trump"
        if word in _DETERMINERS or leading_word or (entity_type == "PERSON" and word in PERSON_TITLES):
            start = first.end()
            while start < end and text[start].isspace():
                start += 1
            continue
        break
    return _strip_edges(text, start, end)


def _balance_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without an unbalanced bracket: cut before an unclosed opener, after a stray closer."""
    open_at: list[int] = []
    for i in range(start, end):
        char = text[i]
        if char in _OPENERS:
            open_at.append(i)
        elif char in _CLOSERS:
            if open_at and text[open_at[-1]] == _CLOSERS[char]:
                open_at.pop()
            else:
                # Whatever precedes a stray ")" belongs to the parenthesis, not to the name.
                start, open_at = i + 1, []
    return (start, open_at[0]) if open_at else (start, end)


def dateline_mentions(original: str) -> list[Mention]:
    """The place of each wire dateline ("LONDON 1996-08-30", "ISLAMABAD (Reuters) -")."""
    return [Mention(m.start(1), m.end(1), m.group(1), "LOCATION") for m in DATELINE.finditer(original)]


def model_mentions(doc: Doc, original: str) -> list[Mention]:
    """spaCy's entities of ``doc`` (run on a re-cased copy of ``original``), trimmed, with each
    wire dateline's place and both forms of each acronym definition.

    The model was trained on headlines re-cased the same way (``training/ner``), so an entity it
    finds in an ALL-CAPS line is kept like any other (sm, which never saw them, needed a filter).
    """
    datelines = dateline_mentions(original)
    defined = acronym_mentions(original, doc)
    fixed = _spans([*datelines, *defined])
    candidates = [m for m in _spacy_mentions(doc, original) if not _overlaps(m.start, m.end, fixed)]
    shouting = shouting_spans(original)
    written = {m.text.casefold() for m in candidates if not _inside(m.start, m.end, shouting)}
    kept = [_written_part(m, written) if _inside(m.start, m.end, shouting) else m for m in candidates]
    return sorted([*kept, *datelines, *defined], key=lambda m: m.start)


def _written_part(mention: Mention, written: set[str]) -> Mention:
    """A mention in an ALL-CAPS line cut to the longest run of its words the article names in
    normal case: re-cased, "SOMERSET BEATEN" reads as one name, but the body only knows "Somerset"."""
    words = list(re.finditer(r"\S+", mention.text))
    if mention.text.casefold() in written or len(words) < 2:
        return mention
    runs = [(i, j) for i in range(len(words)) for j in range(len(words), i, -1) if (i, j) != (0, len(words))]
    for i, j in sorted(runs, key=lambda run: run[0] - run[1]):
        start, end = words[i].start(), words[j - 1].end()
        if mention.text[start:end].casefold() in written:
            return replace(mention, start=mention.start + start, end=mention.start + end, text=mention.text[start:end])
    return mention


def acronym_mentions(original: str, doc: Doc) -> list[Mention]:
    """Both forms of each "Long Form (LF)" definition, typed as the model typed either (else ORG)."""
    labelled = {ent.text: LABEL_TYPES.get(ent.label_) for ent in doc.ents}
    found: list[Mention] = []
    for d in find_definitions(original):
        entity_type: EntityType = labelled.get(d.acronym) or labelled.get(d.long_form) or "ORG"
        found.append(Mention(d.long_start, d.long_end, d.long_form, entity_type))
        found.append(Mention(d.acronym_start, d.acronym_end, d.acronym, entity_type))
    return found


def _spans(mentions: Iterable[Mention]) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in mentions]


def _spacy_mentions(doc: Doc, original: str) -> list[Mention]:
    found: list[Mention] = []
    for ent in doc.ents:
        entity_type = LABEL_TYPES.get(ent.label_)
        if entity_type is None:
            continue
        start, end = _trim(original, ent.start_char, ent.end_char, entity_type)
        if _is_portfolio_title(original, start, end):
            continue
        ministry = _MINISTRY_AFTER.match(original, end)
        if ministry and _is_portfolio(original[start:end]):
            end, entity_type = ministry.end(), "ORG"
        surface = original[start:end]
        # A span across a line break or a spaced dash joins two things ("Romania - Cosmin Contra").
        if "\n" in surface or " - " in surface:
            continue
        if end - start < 2 or not _HAS_UPPER.search(surface) or not any(c.isalpha() for c in surface):
            continue
        if is_demonym(surface):
            continue  # "Pakistanis": a people, not an entity
        if _is_sentence_adverb(original, start, end):
            continue
        found.append(Mention(start, end, surface, entity_type))
    return found


def _is_sentence_adverb(original: str, start: int, end: int) -> bool:
    """ "Interestingly," opening a sentence: an adverb, whatever its capital letter suggests."""
    return (
        _SENTENCE_ADVERB.fullmatch(original, start, end) is not None
        and original[end : end + 1] == ","
        and _SENTENCE_START.search(original, max(0, start - 4), start) is not None
    )


def _portfolio_words(span: str) -> list[str]:
    return [_TRAILING_POSSESSIVE.sub("", w).casefold() for w in span.split()]


def _is_portfolio(span: str) -> bool:
    """Only portfolio words: "Defence", "Foreign Affairs"."""
    words = _portfolio_words(span)
    return bool(words) and all(w in PORTFOLIO_WORDS for w in words)


def _is_portfolio_title(original: str, start: int, end: int) -> bool:
    """A title, not a name: "Defence" before "Minister", after "Secretary of", or "Interior Minister" itself."""
    words = _portfolio_words(original[start:end])
    if len(words) > 1 and words[-1] in _TITLE_WORDS and _is_portfolio(" ".join(words[:-1])):
        return True
    if not _is_portfolio(original[start:end]):
        return False
    return bool(
        _TITLE_AFTER.match(original, end) or _TITLE_BEFORE.search(original, max(0, start - _TITLE_BEFORE_CHARS), start)
    )


def propagate(original: str, mentions: list[Mention]) -> list[Mention]:
    """Tag every other occurrence of an already tagged name in the same article.

    Exact (case-sensitive) occurrences everywhere, and case-insensitive ones inside ALL-CAPS
    lines, where "LEICESTERSHIRE" is the headline's way of writing "Leicestershire".
    """
    # Characters already in a mention, one byte each: an overlap test costs the match's length, not
    # the number of mentions (a 5 MB transcript has tens of thousands).
    taken = bytearray(len(original))
    for m in mentions:
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
    shouting = shouting_spans(original)
    type_of = {m.text: m.type for m in mentions}
    # A person's surname alone is that person too ("Simmons" after "Phil Simmons").
    for m in mentions:
        words = m.text.split()
        if m.type == "PERSON" and len(words) > 1 and len(words[-1]) > 2 and words[-1][0].isupper():
            type_of.setdefault(words[-1], "PERSON")
    names = sorted(type_of, key=len, reverse=True)  # longest first: "Imran Khan" before "Khan"
    added: list[Mention] = []
    for name in names:
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        for match in pattern.finditer(original):
            start, end = match.span()
            if 1 in taken[start:end]:
                continue
            surface = match.group(0)
            if surface != name and not _inside(start, end, shouting):
                continue
            taken[start:end] = b"\x01" * (end - start)
            added.append(Mention(start, end, surface, type_of[name], from_model=False))
    return sorted([*mentions, *added], key=lambda m: m.start)


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _inside(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether [start, end) lies within one of ``spans`` (sorted and disjoint, as lines are)."""
    index = bisect_right(spans, (start, _AFTER_ANY_END)) - 1
    return index >= 0 and spans[index][0] <= start and end <= spans[index][1]
