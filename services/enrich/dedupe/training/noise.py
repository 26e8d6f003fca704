"""Synthetic copies and non-copies of a news article, for fitting and testing the noisy-link model.

Copies (the same article, which must be linked):

- ``scanned``: a print copy read back by OCR: letters misread as their look-alikes ("e" -> "c",
  "rn" -> "m", "l" -> "1") at a given rate, some words split in two and some run together.
- ``rewritten``: a local outlet's rewrite: a share of the words dropped or swapped for another
  word, the sentences of each paragraph reordered (a new headline is the title, not the body).

Non-copies (different articles, which must stay apart):

- ``another_version``: the article with a passage of another article in the middle, the way an
  outlet's updated version adds sentences of its own (what the exact rule calls a long interior
  gap).
- ``with_shared_tail``: an article followed by a long passage (an author bio, a site footer) that
  other articles end with too; ``with_passage``: an article carrying a passage another one
  carries too (a long quote, an agency credit).

``with_dateline_and_footer`` dresses a copy the way an outlet prints it.

Every generator takes a ``random.Random``, so a seed reproduces a set exactly.
"""

from __future__ import annotations

import random
import re

# Letters a scanner mistakes for each other (one direction each; most pairs appear both ways).
LOOK_ALIKES: dict[str, tuple[str, ...]] = {
    "a": ("o", "e"),
    "b": ("h", "6"),
    "c": ("e", "o"),
    "d": ("cl",),
    "e": ("c", "o"),
    "f": ("t",),
    "g": ("q", "9"),
    "h": ("b", "li"),
    "i": ("l", "1", "j"),
    "l": ("1", "i", "I"),
    "m": ("rn", "nn"),
    "n": ("u", "ri"),
    "o": ("0", "a", "c"),
    "r": ("n",),
    "s": ("5",),
    "t": ("f", "l"),
    "u": ("n", "v"),
    "v": ("y",),
    "w": ("vv",),
    "y": ("v",),
    "B": ("8",),
    "D": ("O",),
    "I": ("l", "1"),
    "O": ("0", "D"),
    "S": ("5",),
    "0": ("o", "O"),
    "1": ("l", "I"),
    "5": ("S",),
}
FILLER_WORDS = ("the", "a", "its", "their", "now", "then", "also", "more", "very", "this", "that", "some")
_SENTENCE_END = re.compile(r"(?<=[.!?\"'])\s+(?=[\"'(\[]?[A-Z0-9])")


def paragraphs_of(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def sentences_of(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s]


def scanned(text: str, rng: random.Random, *, misread: float, split: float = 0.01, join: float = 0.015) -> str:
    """``text`` as OCR reads a print copy: ``misread`` of its letters replaced by look-alikes."""
    out: list[str] = []
    for paragraph in paragraphs_of(text):
        words: list[str] = []
        for word in paragraph.split():
            letters = [
                rng.choice(LOOK_ALIKES[ch]) if ch in LOOK_ALIKES and rng.random() < misread else ch for ch in word
            ]
            misread_word = "".join(letters)
            if len(misread_word) > 3 and rng.random() < split:
                cut = rng.randrange(1, len(misread_word) - 1)
                misread_word = misread_word[:cut] + " " + misread_word[cut:]
            if words and rng.random() < join:
                words[-1] += misread_word
            else:
                words.append(misread_word)
        out.append(" ".join(words))
    return "\n\n".join(out)


def rewritten(text: str, rng: random.Random, *, changed: float) -> str:
    """``text`` with ``changed`` of its words dropped or swapped and each paragraph's sentences reordered."""
    all_words = text.split()
    out: list[str] = []
    for paragraph in paragraphs_of(text):
        sentences = sentences_of(paragraph)
        rng.shuffle(sentences)
        words: list[str] = []
        for word in " ".join(sentences).split():
            roll = rng.random()
            if roll < changed / 2:
                continue  # dropped
            if roll < changed:
                words.append(rng.choice(FILLER_WORDS) if rng.random() < 0.5 else rng.choice(all_words))
            else:
                words.append(word)
        out.append(" ".join(words))
    return "\n\n".join(out)


def another_version(text: str, other: str, rng: random.Random, *, inserted_words: int, replace: bool) -> str:
    """``text`` with ``inserted_words`` of ``other`` put in its middle third (replacing as many when ``replace``)."""
    words = text.split()
    foreign = other.split()
    start = rng.randrange(0, max(1, len(foreign) - inserted_words))
    passage = foreign[start : start + inserted_words]
    at = rng.randrange(len(words) // 3, max(len(words) // 3 + 1, 2 * len(words) // 3))
    tail = words[at + (len(passage) if replace else 0) :]
    return " ".join(words[:at] + passage + tail)


def with_shared_tail(text: str, tail: str) -> str:
    return text.rstrip() + "\n\n" + tail.strip()


def with_passage(text: str, passage: str, rng: random.Random) -> str:
    """``text`` with ``passage`` (a quote, a credit line both articles carry) as a paragraph of its own."""
    paragraphs = paragraphs_of(text)
    paragraphs.insert(rng.randint(0, len(paragraphs)), passage)
    return "\n\n".join(paragraphs)


def with_dateline_and_footer(text: str, rng: random.Random) -> str:
    """``text`` as an outlet prints it: a dateline before it and a line of its own after it."""
    dateline = rng.choice(("LONDON (Wire) -", "NEW YORK, March 3 -", "By Staff Reporter", "PARIS (AFP) -"))
    footer = rng.choice(
        (
            "Check back for updates on this developing story.",
            "Copyright 2005 The Daily Courier. All rights reserved.",
            "Additional reporting by our correspondents.",
        )
    )
    return f"{dateline} {text.strip()}\n\n{footer}"
