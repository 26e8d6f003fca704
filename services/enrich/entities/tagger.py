"""Tagging a batch of articles: one ``nlp.pipe`` call over title + body, then per-article rules.

spaCy refuses a text over ``nlp.max_length`` (1,000,000 characters; its models need about 1 GB
of memory per 100,000 characters at once), but its limit is per call, not per article: a long
article (a speech transcript, a report) is tagged in pieces of at most ``PIECE_CHARS``, cut at
paragraph, line or sentence ends, a few at a time (spaCy's memory grows with the characters it
tags at once), and the pieces' documents are joined back into one whose offsets are the article's.
Tagging a very long text takes minutes, so enrich tags only its head at once (:func:`head_of`) and
the whole text later, one piece per call, between other work (:class:`PieceTagging`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from spacy.language import Language
from spacy.tokens import Doc

from services.enrich.entities.canonical import canonical_entities
from services.enrich.entities.casing import restore_case
from services.enrich.entities.mentions import Mention, model_mentions, propagate
from services.enrich.entities.places import retype_places
from services.enrich.entities.publications import retype_publications
from shared.events import EntityRef, RawArticle

# Title and body are tagged as one text so names link across them ("Asif" in the headline is
# the "Khawaja Asif" of the body); a blank line keeps the headline a sentence of its own.
TITLE_SEPARATOR = "\n\n"
# Ingest takes a wire dateline's place off the body ("LONDON (Reuters) - ..." -> dateline
# "LONDON"); it is put back in front of the body as a dateline line ("LONDON: "), so its place
# is tagged (mentions.DATELINE reads a place in capitals before ": " as one).
DATELINE_SEPARATOR = ": \n"
# Longest text handed to spaCy in one piece (nearly every article is one piece), and how many pieces
# of one long text are tagged at once: about as many characters as a batch of ordinary articles.
PIECE_CHARS: Final = 25_000
LONG_TEXT_BATCH_PIECES: Final = 4
# A run of this many characters without a space is no name (a URL, a hash, a line of "((((...").
# spaCy's tokenizer peels prefixes off such a run one at a time, quadratic in its length (200,000
# "(" took 155 s), so it never sees them: they are blanked, keeping every offset.
LONG_RUN_CHARS: Final = 100
_LONG_RUN: Final = re.compile(rf"\S{{{LONG_RUN_CHARS},}}")
# Where a piece may end, best first: after a blank line, a line break, a sentence, any space.
_CUTS: Final = (re.compile(r"\n\s*\n\s*"), re.compile(r"\n\s*"), re.compile(r"[.!?]\s+"), re.compile(r"\s+"))


def article_text(article: RawArticle) -> str:
    """The text entities are tagged in: the title (if any), a blank line, the dateline's place
    (if ingest found one), the body."""
    title = (article.title or "").strip()
    dateline = (article.dateline or "").strip()
    body = f"{dateline}{DATELINE_SEPARATOR}{article.body}" if dateline else article.body
    return f"{title}{TITLE_SEPARATOR}{body}" if title else body


def article_mentions(doc: Doc, text: str) -> list[Mention]:
    """The mentions of ``text`` from the model's ``doc`` of it: spans trimmed, places and
    publications typed from the gazetteer and the words around them, then propagated in the text."""
    return propagate(text, retype_publications(text, retype_places(text, model_mentions(doc, text))))


def head_of(text: str, limit: int) -> str:
    """The start of ``text`` up to ``limit`` characters, cut at the best break (all of it if shorter)."""
    return text if len(text) <= limit else split_pieces(text, limit)[0]


class EntityTagger:
    """Tags entities with a loaded spaCy pipeline (see ``model.load_ner``)."""

    def __init__(self, nlp: Language, *, batch_size: int = 32) -> None:
        self.nlp = nlp
        self.batch_size = batch_size

    def mentions(self, texts: Sequence[str]) -> list[list[Mention]]:
        """Mentions per text (see ``article_mentions``); long texts are tagged in pieces (``_docs``)."""
        docs = self._docs([_prepared(t) for t in texts])
        return [article_mentions(doc, text) for text, doc in zip(texts, docs, strict=True)]

    def _docs(self, texts: list[str]) -> list[Doc]:
        """One tagged Doc per text, whatever its length (long texts are tagged in pieces and joined)."""
        short = [i for i, text in enumerate(texts) if len(text) <= PIECE_CHARS]
        tagged = self.nlp.pipe((texts[i] for i in short), batch_size=self.batch_size)
        docs: dict[int, Doc] = dict(zip(short, tagged, strict=True))
        for i, text in enumerate(texts):
            if i not in docs:
                # A few pieces at a time: spaCy's memory grows with the characters of one batch.
                pieces = self.nlp.pipe(split_pieces(text, PIECE_CHARS), batch_size=LONG_TEXT_BATCH_PIECES)
                # No space is added between pieces: each ends where the next begins, so offsets stay the text's.
                docs[i] = Doc.from_docs(list(pieces), ensure_whitespace=False)
        return [docs[i] for i in range(len(texts))]

    def tag(self, articles: Sequence[RawArticle], *, head_chars: int | None = None) -> list[list[EntityRef]]:
        """Each article's entities; with ``head_chars``, those of each text's head only (:func:`head_of`)."""
        texts = [article_text(a) for a in articles]
        if head_chars is not None:
            texts = [head_of(text, head_chars) for text in texts]
        return self.entities(texts, self.mentions(texts))

    def entities(self, texts: Sequence[str], mentions: Sequence[list[Mention]]) -> list[list[EntityRef]]:
        return [canonical_entities(text, found) for text, found in zip(texts, mentions, strict=True)]


class PieceTagging:
    """One long text tagged a piece per :meth:`step`, so the caller can do other work between pieces.

    The pieces are those the tagger cuts at once (``split_pieces`` at ``PIECE_CHARS``), so the
    result is the one ``EntityTagger.tag`` gives; the tagged pieces are held until :meth:`entities`.
    """

    def __init__(self, tagger: EntityTagger, text: str) -> None:
        self.tagger = tagger
        self.text = text
        self.pieces = split_pieces(_prepared(text), PIECE_CHARS)
        self.docs: list[Doc] = []

    @property
    def remaining(self) -> int:
        return len(self.pieces) - len(self.docs)

    def step(self) -> None:
        """Tag the next piece (none left: nothing to do)."""
        if self.remaining:
            self.docs.append(self.tagger.nlp(self.pieces[len(self.docs)]))

    def entities(self) -> list[EntityRef]:
        """The whole text's entities (every piece must be tagged)."""
        if self.remaining:
            raise RuntimeError(f"{self.remaining} pieces of the text are not tagged yet")
        doc = self.docs[0] if len(self.docs) == 1 else Doc.from_docs(self.docs, ensure_whitespace=False)
        return self.tagger.entities([self.text], [article_mentions(doc, self.text)])[0]


def split_pieces(text: str, limit: int) -> list[str]:
    """``text`` as consecutive pieces of at most ``limit`` characters, cut at the best break near the end."""
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        end = start + limit
        window_start = start + limit // 2
        cut = end  # no break in the second half of the window: a hard cut
        for pattern in _CUTS:
            breaks = [m.end() for m in pattern.finditer(text, window_start, end)]
            if breaks:
                cut = breaks[-1]
                break
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _prepared(text: str) -> str:
    """The text as handed to the model: casing restored, long runs blanked (offsets unchanged)."""
    return _blank_long_runs(restore_case(text))


def _blank_long_runs(text: str) -> str:
    """``text`` with each run of ``LONG_RUN_CHARS`` or more non-space characters turned into spaces."""
    return _LONG_RUN.sub(lambda run: " " * len(run.group()), text)
