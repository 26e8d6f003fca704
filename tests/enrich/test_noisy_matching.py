"""The noise-tolerant rule on its own (no database): scanned and rewritten copies against
other versions, shared passages and shared bios."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.letters import LetterText, gram_hashes, letter_anchors
from services.enrich.dedupe.noisy import MIN_NOISY_LETTERS, LetterEvidence, NoisyLinkModel, letter_evidence
from services.enrich.dedupe.training import noise
from tests.enrich.conftest import read_seed
from tests.enrich.variants import BIO, another_version, rewritten_copy, scanned_copy

MODEL = NoisyLinkModel.load()


def _letters(text: str) -> LetterText:
    return TextFingerprint.of(text).content(()).letters


def _evidence(a: str, b: str) -> LetterEvidence:
    found = letter_evidence(_letters(a), _letters(b))
    assert found is not None
    return found


@pytest.mark.parametrize("seed", ["000", "001", "002", "003", "004"])
def test_scanned_and_rewritten_copies_are_linked(seed: str) -> None:
    _, text = read_seed(seed)
    for copy in (scanned_copy(text), scanned_copy(text, misread=0.05), rewritten_copy(text)):
        found = _evidence(copy, text)
        assert found.coverage > 0.8 and found.weakest_stretch > 0.25, found
        assert MODEL.links(found) and MODEL.probability(found) >= MODEL.threshold
    # A scan and a rewrite of one article are copies of each other too (their original may come later).
    assert MODEL.links(_evidence(scanned_copy(text), rewritten_copy(text)))


@pytest.mark.parametrize(("seed", "other"), [("000", "001"), ("002", "003"), ("004", "000")])
def test_another_version_of_a_story_is_not_a_copy(seed: str, other: str) -> None:
    """50 words of another article in the middle: most letters shared, one stretch not at all."""
    _, text = read_seed(seed)
    _, foreign = read_seed(other)
    version = another_version(text, foreign)
    for candidate in (version, scanned_copy(version)):
        found = _evidence(candidate, text)
        assert found.coverage > 0.7  # the overlap alone would call it a copy
        assert found.weakest_stretch < 0.3 and not MODEL.links(found), found


def test_articles_sharing_only_a_passage_or_a_bio_are_not_copies() -> None:
    _, first = read_seed("000")
    _, second = read_seed("002")
    rng = random.Random(3)
    quote = " ".join(read_seed("004")[1].split()[100:150])
    found = _evidence(noise.with_passage(first, quote, rng), noise.with_passage(second, quote, rng))
    assert not MODEL.links(found), found
    # Short stories ending with the same long bio: most letters shared, but each opens with a
    # paragraph of its own (scanned, so the exact rule cannot match the bio either).
    stories = (
        "Shares in the carmaker rose 4% after it reported record quarterly deliveries and raised its outlook.",
        "The central bank held interest rates at 5.25% and signalled that cuts were unlikely before autumn.",
    )
    a, b = (scanned_copy(f"{story}\n\n{BIO}", seed=i) for i, story in enumerate(stories))
    found = _evidence(a, b)
    assert found.coverage > 0.6 and found.leading_prose and not MODEL.links(found), found


def test_short_texts_are_left_to_the_exact_rule() -> None:
    short = "The minister resigned on Tuesday after the report was published."
    assert len(_letters(short).letters) < MIN_NOISY_LETTERS
    assert letter_evidence(_letters(short), _letters(scanned_copy(short))) is None


def test_letter_anchors_survive_scanning_and_rewriting() -> None:
    _, text = read_seed("003")
    anchors = letter_anchors(_letters(text))
    assert len(anchors) >= 20
    for copy in (scanned_copy(text), rewritten_copy(text)):
        shared = anchors & letter_anchors(_letters(copy))
        assert len(shared) >= 0.5 * len(anchors)


def test_letter_hashes_never_change() -> None:
    """Stored anchors are looked up by later versions: the hash of a run is part of the index format."""
    assert [int(h) for h in gram_hashes("reprint", 6)] == [int(h) for h in gram_hashes("reprin", 6)] + [
        int(gram_hashes("eprint", 6)[0])
    ]
    assert int(gram_hashes("abcdef", 6)[0]) == 0xEA66BBFA1380E3FE
    assert gram_hashes("abc", 6).size == 0 and gram_hashes("abcdef", 6).dtype == np.uint64


def test_the_shipped_model_prefers_copies() -> None:
    assert 0.5 <= MODEL.threshold < 1.0
    copy = LetterEvidence(coverage=0.9, weakest_stretch=0.6)
    version = LetterEvidence(coverage=0.9, weakest_stretch=0.05)
    passage = LetterEvidence(coverage=0.2, weakest_stretch=0.0)
    assert MODEL.links(copy) and not MODEL.links(version) and not MODEL.links(passage)
    assert not MODEL.links(LetterEvidence(coverage=0.95, weakest_stretch=0.9, leading_prose=True))
