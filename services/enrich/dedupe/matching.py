"""The reprint rule: is one text a copy of another, edited the way outlets edit wire copy?

Text X is *derived from* text Y when, over X's content shingles:

- most of them occur in Y (containment ≥ ``MIN_CONTAINMENT``): truncation, a dropped
  paragraph and an added footer leave this high, which Jaccard similarity does not;
- the unmatched stretches *inside* the matched span are short (≤ ``MAX_INTERIOR_GAP_SHINGLES``):
  a few edited words break a handful of shingles, whereas a rewritten sentence, another
  outlet's own paragraph or a different article around a shared quote breaks dozens;
- the match starts near X's beginning (≤ ``MAX_LEADING_GAP_SHINGLES`` unmatched first, and no
  whole paragraph of prose before it): a reprint keeps the story's lede, at most behind a dateline
  or byline, while two different short articles that end with the same long author bio match
  only at their end.

Two articles are linked when either is derived from the other (the reprint may be processed
before its original). Everything here is pure and cheap: candidates come from the index.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Protocol

from services.enrich.dedupe.fingerprint import SHINGLE_WORDS

MIN_CONTAINMENT = 0.7
# Reprints on the dev set break at most 9 consecutive shingles (a couple of edited words);
# BBC's own rewritten versions break 25 or more. 20 leaves room for a short edited phrase.
MAX_INTERIOR_GAP_SHINGLES = 20
# A dateline plus a byline ("LONDON (IANS) -", "By Reuters Staff") is ~12 words; 30 also allows a
# changed headline when the title could not be separated from the body.
MAX_LEADING_GAP_SHINGLES = 30
# Below this many content shingles (~14 words) a text is too short to call a reprint: only an
# exact duplicate of it is linked.
MIN_COMPARABLE_SHINGLES = 10
# A paragraph this long before the first match is prose of another article, not a byline.
MIN_PROSE_PARAGRAPH_WORDS = 15


class Comparable(Protocol):
    """A text as reprint detection compares it (see ``fingerprint.ContentFingerprint``)."""

    @property
    def shingles(self) -> list[int]: ...
    @property
    def shingle_set(self) -> frozenset[int]: ...
    @property
    def breaks(self) -> list[int]: ...


@dataclass(frozen=True)
class Evidence:
    """How X's shingles occur in Y."""

    containment: float
    interior_gap: int
    leading_gap: int
    leading_prose: bool = False

    @property
    def derived(self) -> bool:
        return (
            self.containment >= MIN_CONTAINMENT
            and self.interior_gap <= MAX_INTERIOR_GAP_SHINGLES
            and self.leading_gap <= MAX_LEADING_GAP_SHINGLES
            and not self.leading_prose
        )


def evidence(x: Sequence[int], y: Set[int], x_breaks: Sequence[int] = ()) -> Evidence:
    """Containment of ``x`` (ordered shingles) in ``y`` and the unmatched stretches of ``x``.

    ``x_breaks`` are the word indexes where x's paragraphs start; shingle i starts at word i.
    """
    matched = [h in y for h in x]
    hits = sum(matched)
    if not hits:
        return Evidence(0.0, len(x), len(x), True)
    first = matched.index(True)
    last = len(matched) - 1 - matched[::-1].index(True)
    gap = longest = 0
    for is_match in matched[first : last + 1]:
        gap = 0 if is_match else gap + 1
        longest = max(longest, gap)
    end = len(x) + SHINGLE_WORDS  # words in x (shingle i starts at word i)
    sizes = [stop - start for start, stop in zip(x_breaks, [*x_breaks[1:], end], strict=True)] if x_breaks else []
    return Evidence(hits / len(x), longest, first, leading_prose(x_breaks, end, sizes, first))


def leading_prose(starts: Sequence[int], end: int, words: Sequence[int], first_match: int) -> bool:
    """Whether a whole paragraph of prose lies before ``first_match``.

    Paragraph i spans [``starts[i]``, ``starts[i + 1]``) (the last one ends at ``end``), in any
    unit (words, letters) ``first_match`` is in too, and has ``words[i]`` words.
    """
    if not starts:
        return False
    ends = [*starts[1:], end]
    return any(
        stop <= first_match and count >= MIN_PROSE_PARAGRAPH_WORDS for stop, count in zip(ends, words, strict=True)
    )


def reprint_similarity(a: Comparable, b: Comparable) -> float | None:
    """The containment that links ``a`` and ``b`` as copies of one article, or None."""
    if min(len(a.shingle_set), len(b.shingle_set)) < MIN_COMPARABLE_SHINGLES:
        return None
    found = (evidence(a.shingles, b.shingle_set, a.breaks), evidence(b.shingles, a.shingle_set, b.breaks))
    scores = [e.containment for e in found if e.derived]
    return max(scores) if scores else None
