"""Which indexed articles a new article is verified against: the ones sharing the most anchors with it.

A candidate shares a word anchor (a 5-word passage: worth verifying exactly) or enough letter
anchors to be worth the noisy check; a few letter runs in common are chance.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence

from services.enrich.dedupe.fingerprint import ContentFingerprint
from services.enrich.dedupe.letters import anchor_modulus

# Candidates verified exactly per article, the ones sharing the most anchors with it.
MAX_CANDIDATES_PER_ARTICLE = 10
# A candidate the exact rule rejects is checked for a noisy copy only when it shares at least this
# many of the article's letter anchors, and this share of those a text of its length has:
# only a cheap pre-filter, far below what a scanned copy or a rewrite shares (~70 %), that skips
# articles sharing a phrase or two.
NOISY_MIN_SHARED_ANCHORS = 3
NOISY_MIN_SHARED_FRACTION = 0.2


def letter_anchors_needed(content: ContentFingerprint) -> float:
    """How many letter anchors a candidate must share with ``content`` to be checked as a noisy copy.

    Relative to the anchors sampled at the rate of a text a little longer: a copy one length tier
    up samples half as densely, and the two share only its sparser anchors.
    """
    length = len(content.letters.letters)
    expected = length / (2 * anchor_modulus(length))  # a copy a little longer may sample half as densely
    return max(NOISY_MIN_SHARED_ANCHORS, NOISY_MIN_SHARED_FRACTION * expected)


def ranked_candidates(
    content: ContentFingerprint, postings: Iterable[tuple[int, Sequence[str]]]
) -> list[tuple[str, int]]:
    """The ``MAX_CANDIDATES_PER_ARTICLE`` articles sharing the most anchors, with their shared letter anchors.

    A candidate shares a word anchor (a 5-word passage: worth verifying exactly) or enough letter
    anchors to be worth a noisy check; a few letter runs in common ("governmentof") are chance.
    """
    shared: Counter[str] = Counter()
    by_letters: Counter[str] = Counter()
    for anchor, found in postings:
        shared.update(found)
        if anchor in content.letter_anchors:
            by_letters.update(found)
    needed = letter_anchors_needed(content)
    eligible = (
        (-count, article)
        for article, count in shared.items()
        if count > by_letters[article] or by_letters[article] >= needed
    )
    return [(article, by_letters[article]) for _, article in heapq.nsmallest(MAX_CANDIDATES_PER_ARTICLE, eligible)]
