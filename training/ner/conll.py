"""CoNLL-2003 (CoNLL++) files read as the articles newsflow sees: plain text with entity spans.

A CoNLL file holds one token a line (token, POS, chunk, IOB2 entity tag) with ``-DOCSTART-``
between documents and blank lines between sentences. Each document is turned into the text a
news file would hold (the first sentence as the headline, a blank line, then one sentence a
line, tokens joined the way running text writes them: no space before "," or "'s", none inside
brackets) and its entities into character spans of that text, so a model trained on it sees
what enrich feeds the model at run time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Tokens written against the previous token ("word ,", "word 's", "do n't", "( word )").
_NO_SPACE_BEFORE = frozenset({".", ",", ";", ":", "!", "?", ")", "]", "}", "%", "...", "'s", "'S", "n't", "N'T"})
_CLITICS = ("'s", "'re", "'ve", "'ll", "'d", "'m", "n't")
_NO_SPACE_AFTER = frozenset({"(", "[", "{", "$"})


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str  # PER, ORG, LOC or MISC


@dataclass
class ConllDocument:
    """One document: its text (headline, blank line, a sentence a line) and entity spans."""

    text: str
    spans: list[Span] = field(default_factory=list)

    @property
    def key(self) -> str:
        """A stable name for the document (for splits): a hash of its text."""
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()[:12]

    def surfaces(self) -> set[tuple[str, str]]:
        """The document-level (label, surface) set the evaluation scores, MISC left out."""
        return {(s.label, self.text[s.start : s.end]) for s in self.spans if s.label != "MISC"}


def _sentences(lines: Iterable[str]) -> Iterator[list[tuple[str, str]] | None]:
    """(token, tag) lists per sentence; ``None`` marks a document boundary."""
    sentence: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("-DOCSTART-"):
            if sentence:
                yield sentence
                sentence = []
            yield None
            continue
        if not line.strip():
            if sentence:
                yield sentence
                sentence = []
            continue
        parts = line.split()
        sentence.append((parts[0], parts[-1]))
    if sentence:
        yield sentence


def _joins_previous(token: str, previous: str | None) -> bool:
    if previous is None:
        return True
    if previous in _NO_SPACE_AFTER:
        return True
    return token in _NO_SPACE_BEFORE or token.lower() in _CLITICS


def _append_sentence(parts: list[str], length: int, tokens: list[tuple[str, str]]) -> tuple[int, list[Span]]:
    """Write one sentence at offset ``length`` of the text; return the new length and its spans."""
    spans: list[Span] = []
    open_label: str | None = None
    open_start = 0
    last_end = length
    previous: str | None = None
    for token, tag in tokens:
        if not _joins_previous(token, previous):
            parts.append(" ")
            length += 1
        start = length
        parts.append(token)
        length += len(token)
        prefix, _, label = tag.partition("-")
        if open_label is not None and (prefix != "I" or label != open_label):
            spans.append(Span(open_start, last_end, open_label))
            open_label = None
        if prefix == "B" or (prefix == "I" and open_label is None):
            open_label, open_start = label, start
        last_end = length
        previous = token
    if open_label is not None:
        spans.append(Span(open_start, last_end, open_label))
    return length, spans


def _document(sentences: list[list[tuple[str, str]]]) -> ConllDocument:
    parts: list[str] = []
    spans: list[Span] = []
    length = 0
    for index, sentence in enumerate(sentences):
        if index:
            separator = "\n\n" if index == 1 else "\n"
            parts.append(separator)
            length += len(separator)
        length, found = _append_sentence(parts, length, sentence)
        spans.extend(found)
    return ConllDocument("".join(parts), spans)


def read_conll(path: Path) -> list[ConllDocument]:
    """The documents of a CoNLL-2003 format file, in file order."""
    documents: list[ConllDocument] = []
    current: list[list[tuple[str, str]]] = []
    with path.open(encoding="utf-8") as lines:
        for sentence in _sentences(lines):
            if sentence is None:
                if current:
                    documents.append(_document(current))
                current = []
            else:
                current.append(sentence)
    if current:
        documents.append(_document(current))
    return documents


def split(documents: list[ConllDocument], held_out_percent: int) -> tuple[list[ConllDocument], list[ConllDocument]]:
    """(training, held-out) by a hash of each document's text: stable whatever the file order."""
    held = [d for d in documents if int(d.key, 16) % 100 < held_out_percent]
    kept = [d for d in documents if int(d.key, 16) % 100 >= held_out_percent]
    return kept, held
