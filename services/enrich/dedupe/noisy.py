"""Noise-tolerant verification: is a scanned or lightly rewritten text a copy of another?

The exact rule (``matching``) compares 5-word shingles, which survive syndication edits but not
a scanner misreading 3 % of letters or an editor swapping one word in eight. Here both texts are
compared as letters without spaces, through their ``RUN_LETTERS``-letter runs (``letters``):

- *coverage*: the share of a text's letters that lie in some run the other text also has, in
  the same order (``_supported``: a run shared by chance, far from where its neighbours are, does
  not count). A scanned copy keeps ~95 %, a rewrite ~85 %; two different articles on one topic
  share names and phrases, ~5-30 %.
- *weakest stretch*: the lowest coverage of any ``STRETCH_LETTERS``-letter stretch of the text
  (but for a dateline or closing line of its own at either end). Noise is spread out, so every
  stretch of a copy stays well covered (rewrites: > 0.35); another outlet's version of a story,
  with a sentence of its own in the middle, or two articles sharing a quote or a footer, leave a
  stretch with almost nothing shared.

Both are measured each way and the lower one counts: a noisy match must be a full copy both
ways (a scan or a rewrite of the whole article). A partial copy (an excerpt, a reprint that
dropped a paragraph) has to be found by the exact rule, whose shared passages are strong enough
evidence on their own. And as in the exact rule, a text with a whole paragraph of its own before
the shared text is not a copy (``leading_prose``: two short articles ending with one long bio).
The two features go through a logistic model (``NoisyLinkModel``) fitted on synthetic copies
and non-copies of text that is not an evaluation set (see ``training/calibrate.py``); its
probability is the link's confidence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.enrich.dedupe.letters import RUN_LETTERS, Hashes, LetterText
from services.enrich.dedupe.matching import leading_prose

# Letters per stretch in "weakest stretch" (~17 words, a sentence).
STRETCH_LETTERS = 100
# Letters at either end of a text that may be the copy's own (a dateline, a closing line: ~30 words).
EDGE_LETTERS = 150
# A shared run counts when another shared run starting within SUPPORT_REACH letters after it (and
# not overlapping it) sits at the same distance in the other text, give or take SUPPORT_SLACK
# letters (a dropped word, "m" misread as "rn"); up to SUPPORT_NEIGHBOURS following runs are tried.
SUPPORT_REACH = 40
SUPPORT_SLACK = 16
SUPPORT_NEIGHBOURS = 8
# Texts shorter than this many letters (~60 words) are left to the exact rule.
MIN_NOISY_LETTERS = 300
MODEL_FILE = Path(__file__).with_name("noisy_model.json")
_FLOOR = 1e-3  # a text sharing nothing has coverage 0; its log is clamped here


@dataclass(frozen=True)
class LetterEvidence:
    """How the letters of two texts cover each other (the lower of the two directions)."""

    coverage: float
    weakest_stretch: float
    leading_prose: bool = False  # either text has a paragraph of its own before the shared text

    def model_inputs(self) -> tuple[float, float]:
        """What the model weighs: the logs of both (clamped), so it asks for both to be high."""
        return (math.log(max(_FLOOR, self.coverage)), math.log(max(_FLOOR, self.weakest_stretch)))


def letter_evidence(a: LetterText, b: LetterText) -> LetterEvidence | None:
    """Coverage and weakest stretch of ``a`` and ``b``, or None when either is too short to tell."""
    if min(len(a.letters), len(b.letters)) < MIN_NOISY_LETTERS:
        return None
    one_way = (_covered(a, b.distinct, b.positions), _covered(b, a.distinct, a.positions))
    return LetterEvidence(
        coverage=min(coverage for coverage, _, _ in one_way),
        weakest_stretch=min(weakest for _, weakest, _ in one_way),
        leading_prose=any(prose for _, _, prose in one_way),
    )


def _covered(text: LetterText, other: Hashes, positions: npt.NDArray[np.intp]) -> tuple[float, float, bool]:
    """Coverage, weakest stretch and leading prose of ``text`` by the sorted runs ``other`` (found at ``positions``)."""
    runs = text.runs
    if not runs.size or not other.size:
        return 0.0, 0.0, True
    where = np.minimum(np.searchsorted(other, runs), other.size - 1)
    found = other[where] == runs
    shared = np.flatnonzero(found)
    if not shared.size:
        return 0.0, 0.0, True
    shared = shared[_supported(shared, positions[where[shared]])]
    if not shared.size:
        return 0.0, 0.0, True
    letters = runs.size + RUN_LETTERS - 1
    # A letter is covered when a shared run starts at most RUN_LETTERS - 1 letters before it.
    starts = np.bincount(shared, minlength=letters + 1)
    ends = np.bincount(shared + RUN_LETTERS, minlength=letters + RUN_LETTERS + 1)[: letters + 1]
    covered = np.cumsum(starts - ends)[:letters] > 0
    # Stretches are looked at from the first shared run to the last, and at least everything but
    # the first and last EDGE_LETTERS: a copy may add a dateline or a closing line, but a text
    # that shares only a passage (a footer, a quote) has long unshared stretches around it.
    begin = min(int(shared[0]), EDGE_LETTERS)
    end = max(int(shared[-1]) + RUN_LETTERS, letters - EDGE_LETTERS)
    inside = covered[begin:end].astype(np.float64)
    if inside.size <= STRETCH_LETTERS:
        # Everything shared fits in one stretch: the stretch around it is this well covered.
        weakest = float(inside.sum()) / STRETCH_LETTERS
    else:
        sums = np.concatenate(([0.0], np.cumsum(inside)))
        weakest = float((sums[STRETCH_LETTERS:] - sums[:-STRETCH_LETTERS]).min() / STRETCH_LETTERS)
    # As in the exact rule: a copy keeps the story's opening, at most behind a dateline; two short
    # articles ending with the same long bio share only their end.
    prose = leading_prose(text.paragraph_starts, len(text.letters), text.paragraph_words, int(shared[0]))
    return float(covered.mean()), weakest, prose


def _supported(shared: npt.NDArray[np.intp], found_at: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """Which shared runs (at ``shared`` here, ``found_at`` there) have a neighbour in the same order.

    Two texts on one topic share many short runs by chance ("minister", "ofthe"), scattered; a
    copy shares them in order, sentence by sentence, whatever it reorders, drops or misreads.
    """
    supported = np.zeros(shared.size, dtype=bool)
    first = np.searchsorted(shared, shared + RUN_LETTERS)  # the next run not overlapping each one
    for offset in range(SUPPORT_NEIGHBOURS):
        neighbour = np.minimum(first + offset, shared.size - 1)
        step = shared[neighbour] - shared
        agree = (
            (first + offset < shared.size)
            & (step <= SUPPORT_REACH)
            & (np.abs(found_at[neighbour] - found_at - step) <= SUPPORT_SLACK)
        )
        supported |= agree
        supported[neighbour[agree]] = True
    return supported


@dataclass(frozen=True)
class NoisyLinkModel:
    """A logistic model over ``LetterEvidence.model_inputs()``: the probability that two texts are one article."""

    bias: float
    weights: tuple[float, float]
    threshold: float

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> NoisyLinkModel:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                float(spec["bias"]), (float(spec["weights"][0]), float(spec["weights"][1])), float(spec["threshold"])
            )
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise RuntimeError(
                f"cannot read the noisy-link model {path}: {exc}; "
                "regenerate it with `python -m services.enrich.dedupe.training.calibrate`"
            ) from exc

    def probability(self, evidence: LetterEvidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, evidence.model_inputs(), strict=True))
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def links(self, evidence: LetterEvidence) -> bool:
        return not evidence.leading_prose and self.probability(evidence) >= self.threshold
