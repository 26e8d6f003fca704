"""Tagging a batch of articles: one ``nlp.pipe`` call over title + body, then per-article rules."""

from __future__ import annotations

from collections.abc import Sequence

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


class EntityTagger:
    """Tags entities with a loaded spaCy pipeline (see ``model.load_ner``)."""

    def __init__(self, nlp: Language, *, batch_size: int = 32) -> None:
        self.nlp = nlp
        self.batch_size = batch_size

    def mentions(self, texts: Sequence[str]) -> list[list[Mention]]:
        """Mentions per text (see ``article_mentions``)."""
        docs = self.nlp.pipe((restore_case(t) for t in texts), batch_size=self.batch_size)
        return [article_mentions(doc, text) for text, doc in zip(texts, docs, strict=True)]

    def tag(self, articles: Sequence[RawArticle]) -> list[list[EntityRef]]:
        texts = [article_text(a) for a in articles]
        return [canonical_entities(text, found) for text, found in zip(texts, self.mentions(texts), strict=True)]
