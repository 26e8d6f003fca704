"""Fingerprints of an article's text: paragraph hashes, word shingles and the anchors indexed.

- A *paragraph hash* identifies a paragraph up to typography, case and wrapping. The index
  counts in how many distinct stories each paragraph occurs; one seen in several is boilerplate
  (a site footer, an author bio, an agency credit) and is left out of the comparison.
- *Shingles* are hashes of every run of ``SHINGLE_WORDS`` consecutive words of the content (the
  body without boilerplate paragraphs), kept in text order so a comparison can see *where* two
  texts differ, not only how much.
- *Anchors* are a content-defined sample of the shingles (those whose hash is 0 modulo
  ``ANCHOR_MODULUS``, plus the few smallest): two texts sharing a passage share its anchors
  whatever else each contains, which is what finds a reprint cut to 70 % or padded with a
  footer, where Jaccard-based MinHash does not. Short texts are sampled more densely
  (``SHORT_TEXT_ANCHOR_MODULUS``); since that modulus divides the long one, a short copy still
  holds every anchor its long original was indexed under.
- *Letter anchors* (``letters.letter_anchors``) join them in the same index: sampled runs of the
  content's letters without spaces, which survive the misread letters of a scanned copy and the
  swapped words of a rewrite that break most word shingles. ``letters`` is that text, kept for
  noise-tolerant verification (``noisy``), with its runs hashed once.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field

from services.enrich.dedupe.letters import LetterText, letter_anchors
from services.enrich.dedupe.normalize import content_hash, split_paragraphs, words

SHINGLE_WORDS = 5
# One shingle in 16 becomes an anchor: a 400-word article gets ~25 and a copy cut to 70 % still
# shares ~17. Fewer anchors means fewer random index writes, which is what keeps the cost per
# article flat at 100k indexed articles. Texts under SHORT_TEXT_SHINGLES are sampled 1 in 4.
ANCHOR_MODULUS = 16
SHORT_TEXT_ANCHOR_MODULUS = 4
SHORT_TEXT_SHINGLES = 200
# Short texts have few modulo-sampled anchors; the smallest hashes are added so they have some.
MIN_HASH_ANCHORS = 4


def _int32(value: int) -> int:
    """An unsigned 32-bit hash as Postgres ``integer`` (signed)."""
    return value - (1 << 32) if value >= 1 << 31 else value


def paragraph_hash(paragraph_words: list[str]) -> int:
    """A signed 64-bit hash of a paragraph's words (Postgres ``bigint``)."""
    digest = hashlib.blake2b(" ".join(paragraph_words).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def shingle_hashes(tokens: list[str]) -> list[int]:
    """Hashes of every ``SHINGLE_WORDS``-word window, in text order (one for a shorter text)."""
    if not tokens:
        return []
    if len(tokens) < SHINGLE_WORDS:
        return [_int32(zlib.crc32(" ".join(tokens).encode("utf-8")))]
    return [
        _int32(zlib.crc32(" ".join(tokens[i : i + SHINGLE_WORDS]).encode("utf-8")))
        for i in range(len(tokens) - SHINGLE_WORDS + 1)
    ]


def anchors_of(shingles: Collection[int]) -> set[int]:
    """The content-defined sample of ``shingles`` that the index stores and looks up."""
    distinct = set(shingles)
    modulus = ANCHOR_MODULUS if len(distinct) >= SHORT_TEXT_SHINGLES else SHORT_TEXT_ANCHOR_MODULUS
    picked = {h for h in distinct if (h & 0xFFFFFFFF) % modulus == 0}
    picked.update(sorted(distinct)[:MIN_HASH_ANCHORS])
    return picked


@dataclass(frozen=True)
class TextFingerprint:
    """What reprint detection needs of one article, before boilerplate is known."""

    content_hash: str
    paragraph_words: list[list[str]]
    paragraph_hashes: list[int]
    # content() per boilerplate set: enrich's preview and its locked decision ask for the same one.
    _contents: dict[frozenset[int], ContentFingerprint] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def of(cls, body: str) -> TextFingerprint:
        paragraphs = [words(p) for p in split_paragraphs(body)]
        paragraphs = [p for p in paragraphs if p]
        return cls(
            content_hash=content_hash(body),
            paragraph_words=paragraphs,
            paragraph_hashes=[paragraph_hash(p) for p in paragraphs],
        )

    def content(self, boilerplate: Collection[int]) -> ContentFingerprint:
        """Shingles and anchors of the paragraphs that are not boilerplate."""
        key = frozenset(boilerplate)
        if key not in self._contents:
            self._contents[key] = self._content(key)
        return self._contents[key]

    def _content(self, boilerplate: frozenset[int]) -> ContentFingerprint:
        tokens: list[str] = []
        breaks: list[int] = []
        for paragraph, digest in zip(self.paragraph_words, self.paragraph_hashes, strict=True):
            if digest not in boilerplate:
                breaks.append(len(tokens))
                tokens.extend(paragraph)
        shingles = shingle_hashes(tokens)
        letters = LetterText.of(
            p for p, h in zip(self.paragraph_words, self.paragraph_hashes, strict=True) if h not in boilerplate
        )
        by_letters = letter_anchors(letters)
        return ContentFingerprint(
            shingles=shingles,
            anchors=anchors_of(shingles) | by_letters,
            breaks=breaks,
            letters=letters,
            letter_anchors=by_letters,
        )


@dataclass(frozen=True)
class ContentFingerprint:
    """Ordered content shingles, the anchors (word and letter), where each content paragraph starts
    (word index), and the content's letters without spaces."""

    shingles: list[int]
    anchors: set[int]  # word and letter anchors: the index posts and looks up both alike
    breaks: list[int]
    letters: LetterText
    letter_anchors: set[int]  # the letter anchors among ``anchors``
    shingle_set: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shingle_set", frozenset(self.shingles))
