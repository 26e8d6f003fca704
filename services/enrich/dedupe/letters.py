"""An article's letters as reprint detection sees them once spaces stop meaning anything.

A scanned copy misreads letters ("growtb", "Lab0r") and splits or joins words ("intheUS"); a
local rewrite drops and swaps words. Word shingles break on every such change: one misread
letter in five words loses a 5-word shingle. Letters fare better: the content's words joined
without spaces (``letters_of``) make a split or joined word vanish, and a short run of letters
(an *n-gram*) survives unless the misread letter is inside it.

- ``LetterText``: a text's letters and the 64-bit hashes of its ``RUN_LETTERS``-letter runs, in
  text order (``gram_hashes``: a polynomial rolling hash, then a bit mixer, with numpy, so a
  3,000-letter article costs tens of microseconds, the same in every process: nothing depends on
  Python's per-process ``hash``). Noise-tolerant verification (``noisy``) compares these runs.
- ``letter_anchors``: a content-defined sample of the runs of ``2 * RUN_LETTERS`` letters (two
  adjacent runs), posted to the same inverted index as the word anchors
  (``fingerprint.anchors_of``). Two copies of an article share most of them even through 4 %
  misread letters, so the index finds a scanned or rewritten copy among the candidates;
  verification then decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.uint64]

# Letters per compared run: short enough that a misread letter costs only the runs around it.
RUN_LETTERS = 6
# An anchor is two adjacent runs (12 letters): long enough to be specific to a passage (few are in
# more than MAX_ANCHOR_POSTINGS articles), short enough that 3 % misread letters leave ~70 % intact.
# One run in LETTER_ANCHOR_MODULUS becomes an anchor, fewer in long texts and more in short ones,
# so that every text has ~20-40 (each is a random index write and a lookup; enough survive noise
# to find a copy). The moduli are powers of two, each dividing the next: a shorter text holds
# every anchor a longer copy of it (or its original) was indexed under.
_MODULUS_BY_LENGTH = ((2_560, 128), (1_280, 64), (640, 32), (0, 16))  # letters at least -> modulus

_MULTIPLIER = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
# Sampling looks at bits the stored anchor (the low 32) does not hold, so stored anchors keep
# all 32 bits of entropy.
_SAMPLE_SHIFT = np.uint64(40)
_LOW_32 = np.uint64(0xFFFFFFFF)
_SIGN_32 = 1 << 31


def letters_of(tokens: Iterable[str]) -> str:
    """The words joined without spaces: a word split or joined by a scanner reads the same."""
    return "".join(tokens)


def gram_hashes(letters: str, size: int) -> Hashes:
    """Hashes of every ``size``-letter run of ``letters``, in order (empty when it is shorter)."""
    codes = np.frombuffer(letters.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - size + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(size):
        hashes = hashes * _MULTIPLIER + codes[offset : offset + count] + _ONE
    return _mixed(hashes)


def _mixed(hashes: Hashes) -> Hashes:
    """splitmix64's finaliser: neighbouring runs differ in every bit, so sampling is unbiased."""
    hashes = hashes ^ (hashes >> np.uint64(30))
    hashes = hashes * _MIX_1
    hashes = hashes ^ (hashes >> np.uint64(27))
    hashes = hashes * _MIX_2
    return hashes ^ (hashes >> np.uint64(31))


def anchor_modulus(length: int) -> int:
    """One letter run in this many is an anchor in a text of ``length`` letters."""
    return next(modulus for shortest, modulus in _MODULUS_BY_LENGTH if length >= shortest)


@dataclass(frozen=True)
class LetterText:
    """A text's content paragraphs (normalised words), its letters without spaces, and the hashes of
    its letter runs (each computed when first asked)."""

    paragraphs: tuple[str, ...]  # each paragraph's words, space-separated

    @classmethod
    def of(cls, paragraph_words: Iterable[Sequence[str]]) -> LetterText:
        return cls(tuple(" ".join(words) for words in paragraph_words if words))

    @classmethod
    def parse(cls, stored: str) -> LetterText:
        """The inverse of :meth:`stored`."""
        return cls(tuple(p for p in stored.split("\n") if p))

    def stored(self) -> str:
        """One paragraph a line (the form the index keeps)."""
        return "\n".join(self.paragraphs)

    @cached_property
    def letters(self) -> str:
        return letters_of(word for paragraph in self.paragraphs for word in paragraph.split(" "))

    @cached_property
    def paragraph_starts(self) -> list[int]:
        """The letter offset where each paragraph starts."""
        starts, offset = [], 0
        for paragraph in self.paragraphs:
            starts.append(offset)
            offset += len(paragraph) - paragraph.count(" ")
        return starts

    @cached_property
    def paragraph_words(self) -> list[int]:
        return [paragraph.count(" ") + 1 for paragraph in self.paragraphs]

    @cached_property
    def runs(self) -> Hashes:
        """The hash of every ``RUN_LETTERS``-letter run, in text order."""
        return gram_hashes(self.letters, RUN_LETTERS)

    @cached_property
    def _unique(self) -> tuple[Hashes, npt.NDArray[np.intp]]:
        return np.unique(self.runs, return_index=True)

    @property
    def distinct(self) -> Hashes:
        """The distinct run hashes, sorted (for membership tests with ``np.searchsorted``)."""
        return self._unique[0]

    @property
    def positions(self) -> npt.NDArray[np.intp]:
        """Where each of ``distinct`` first occurs in the text (a letter offset)."""
        return self._unique[1]


def letter_anchors(text: LetterText) -> set[int]:
    """The sampled pairs of adjacent runs, as signed 32-bit ints (Postgres ``integer``)."""
    runs = text.runs
    if runs.size <= RUN_LETTERS:
        return set()
    pairs = _mixed(runs[:-RUN_LETTERS] * _MULTIPLIER + runs[RUN_LETTERS:])
    modulus = anchor_modulus(len(text.letters))
    picked = pairs[(pairs >> _SAMPLE_SHIFT) % np.uint64(modulus) == 0] & _LOW_32
    return {value - (1 << 32) if value >= _SIGN_32 else value for value in (int(h) for h in np.unique(picked))}
