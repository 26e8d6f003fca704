"""Copies take the entities of the article they copy instead of being tagged again (real Postgres, real spaCy)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Engine, text

from services.enrich.dedupe.detector import DedupeItem, ReprintDetector
from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.enricher import Enricher
from services.enrich.entities.copies import copied_entities
from services.enrich.entities.tagger import EntityTagger, article_text
from shared.events import EnrichedArticle, EntityRef, RawArticle
from tests.enrich.conftest import make_article, seed_article
from tests.enrich.variants import paragraphs, truncated, with_header_footer


class CountingTagger(EntityTagger):
    """The real tagger, recording which articles went through spaCy."""

    def __init__(self, tagger: EntityTagger) -> None:
        super().__init__(tagger.nlp, batch_size=tagger.batch_size)
        self.tagged: list[str] = []

    def tag(self, articles: Sequence[RawArticle]) -> list[list[EntityRef]]:
        self.tagged.extend(a.article_id for a in articles)
        return super().tag(articles)


def _names(entities: list[EntityRef]) -> dict[str, tuple[str, int]]:
    return {e.name: (e.type, e.count) for e in entities}


def _seeds(seed_texts: dict[str, str]) -> list[RawArticle]:
    return [seed_article(name, body, minute=i) for i, (name, body) in enumerate(seed_texts.items())]


# --- copied_entities ------------------------------------------------------------------------------
def _ref(name: str, entity_type: str, mentions: list[str], count: int) -> EntityRef:
    return EntityRef.model_validate(
        {"id": f"{entity_type}:{name}", "name": name, "type": entity_type, "mentions": mentions, "count": count}
    )


def test_copied_entities_are_counted_in_the_copy_longest_form_first() -> None:
    source = [
        _ref("Imran Khan", "PERSON", ["Imran Khan", "Khan"], 4),
        _ref("PTI", "ORG", ["Pakistan Tehreek-e-Insaf", "PTI"], 3),
        _ref("Lahore", "LOCATION", ["Lahore"], 1),
    ]
    copy = "Imran Khan spoke. Khan said the PTIs rally (PTI) would go on. The Khanate agreed with PTI-led groups."
    found = {e.name: e for e in copied_entities(copy, source)}
    assert set(found) == {"Imran Khan", "PTI"}  # Lahore is in the dropped part of the text
    assert found["Imran Khan"].count == 2  # "Imran Khan" once, "Khan" once; "Khanate" is no mention
    assert found["Imran Khan"].mentions == ["Imran Khan", "Khan"]
    assert found["PTI"].count == 2 and found["PTI"].mentions == ["PTI"]  # "(PTI)" and "PTI-led", not "PTIs"
    assert found["PTI"].id == "ORG:PTI"  # the source's identity is kept


def test_copied_entities_of_a_text_naming_none_is_empty() -> None:
    assert copied_entities("Nothing to see here.", [_ref("Lahore", "LOCATION", ["Lahore"], 1)]) == []
    assert copied_entities("Lahore", []) == []


# --- preview --------------------------------------------------------------------------------------
def _item(article: RawArticle) -> DedupeItem:
    return DedupeItem(article.article_id, article.ingested_at, TextFingerprint.of(article.body))


def test_preview_finds_copies_in_the_index_and_in_the_batch_and_writes_nothing(
    engine: Engine, enricher: Enricher, seed_texts: dict[str, str]
) -> None:
    seeds = _seeds(seed_texts)
    enricher.enrich(seeds[:2])
    reprint_of_indexed = make_article("r0.txt", with_header_footer(seeds[0].body), title="New headline", minute=30)
    later_original = seeds[2]
    reprint_in_batch = make_article("r2.txt", truncated(seeds[2].body, 0.8), minute=31)
    before = _count_rows(engine)

    preview = ReprintDetector(engine).preview(
        [_item(a) for a in (reprint_in_batch, later_original, reprint_of_indexed, seeds[1])]
    )

    assert preview.sources == {
        reprint_of_indexed.article_id: seeds[0].article_id,
        reprint_in_batch.article_id: later_original.article_id,
        seeds[1].article_id: seeds[1].article_id,  # a redelivery: already indexed, its own source
    }
    assert set(preview.stored_events) == {seeds[0].article_id, seeds[1].article_id}
    assert _count_rows(engine) == before


def _count_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM enrich.articles")).scalar_one())


# --- the enricher ---------------------------------------------------------------------------------
def test_reprints_take_their_originals_entities_without_spacy(
    tagger: EntityTagger, engine: Engine, seed_texts: dict[str, str]
) -> None:
    counting = CountingTagger(tagger)
    enricher = Enricher(counting, ReprintDetector(engine))
    seeds = _seeds(seed_texts)
    originals = {e.article.article_id: e for e in enricher.enrich(seeds).articles}
    assert counting.tagged == [s.article_id for s in seeds]  # five distinct articles: all tagged

    padded = make_article("padded.txt", with_header_footer(seeds[0].body), title=seeds[0].title, minute=60)
    kept = paragraphs(seeds[1].body)[:2]
    cut = make_article("cut.txt", "\n\n".join(kept), title=seeds[1].title, minute=61)
    counting.tagged.clear()
    copies = {e.article.article_id: e for e in enricher.enrich([padded, cut]).articles}

    assert counting.tagged == []
    padded_event, cut_event = copies[padded.article_id], copies[cut.article_id]
    assert padded_event.duplicate is not None and padded_event.duplicate.duplicate_of == seeds[0].article_id
    assert cut_event.duplicate is not None and cut_event.duplicate.duplicate_of == seeds[1].article_id
    _assert_copied(padded_event, padded, originals[seeds[0].article_id].entities)
    _assert_copied(cut_event, cut, originals[seeds[1].article_id].entities)
    assert _names(padded_event.entities)["Imran Khan"] == _names(originals[seeds[0].article_id].entities)["Imran Khan"]
    assert len(cut_event.entities) < len(originals[seeds[1].article_id].entities)  # names of dropped paragraphs go


def _assert_copied(copy: EnrichedArticle, article: RawArticle, source: list[EntityRef]) -> None:
    """The copy has exactly the source's entities that its own text writes, each with its source identity."""
    copy_text = article_text(article)
    by_id = {e.id: e for e in copy.entities}
    for entity in source:
        named = any(re.search(rf"(?<!\w){re.escape(m)}(?!\w)", copy_text) for m in entity.mentions)
        assert named == (entity.id in by_id), entity.name
        if named:
            assert by_id[entity.id].name == entity.name and by_id[entity.id].type == entity.type
            assert set(by_id[entity.id].mentions) <= set(entity.mentions)
    assert set(by_id) <= {e.id for e in source}


def test_a_reprint_in_the_same_batch_as_its_original_and_redeliveries_skip_spacy(
    tagger: EntityTagger, engine: Engine, seed_texts: dict[str, str]
) -> None:
    counting = CountingTagger(tagger)
    enricher = Enricher(counting, ReprintDetector(engine))
    original = _seeds(seed_texts)[0]
    reprint = make_article("same-batch.txt", with_header_footer(original.body), minute=5)

    first = {e.article.article_id: e for e in enricher.enrich([reprint, original]).articles}
    assert counting.tagged == [original.article_id]
    assert first[reprint.article_id].duplicate is not None
    _assert_copied(first[reprint.article_id], reprint, first[original.article_id].entities)

    counting.tagged.clear()
    again = {e.article.article_id: e for e in enricher.enrich([original, reprint]).articles}
    assert counting.tagged == []
    for article_id, event in again.items():
        assert event.entities == first[article_id].entities


def test_reuse_can_be_turned_off(tagger: EntityTagger, engine: Engine, seed_texts: dict[str, str]) -> None:
    counting = CountingTagger(tagger)
    enricher = Enricher(counting, ReprintDetector(engine), reuse_copy_entities=False)
    original = _seeds(seed_texts)[0]
    reprint = make_article("tagged-anyway.txt", with_header_footer(original.body), minute=5)
    events = enricher.enrich([original, reprint]).articles
    assert sorted(counting.tagged) == sorted([original.article_id, reprint.article_id])
    assert events[1].duplicate is not None and "Imran Khan" in _names(events[1].entities)
