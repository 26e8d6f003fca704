"""The reprint rule on its own (no database): what it links and what it keeps apart."""

from __future__ import annotations

from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.matching import evidence, reprint_similarity
from services.enrich.dedupe.normalize import content_hash
from tests.enrich.conftest import read_seed
from tests.enrich.variants import BIO, curly_quotes, edited, hard_wrapped_crlf, truncated, with_header_footer


def _similarity(a: str, b: str) -> float | None:
    fa, fb = TextFingerprint.of(a).content(()), TextFingerprint.of(b).content(())
    return reprint_similarity(fa, fb)


def test_typography_and_layout_do_not_change_the_content_hash() -> None:
    _, text = read_seed("002")
    assert content_hash(text) == content_hash(hard_wrapped_crlf(curly_quotes(text)))
    assert content_hash(text) != content_hash(edited(text))


def test_edited_truncated_and_padded_copies_are_reprints() -> None:
    _, text = read_seed("003")
    for variant in (with_header_footer(text), truncated(text), edited(text), hard_wrapped_crlf(edited(text))):
        similarity = _similarity(text, variant)
        assert similarity is not None and similarity >= 0.7, variant[:80]
    # Truncated to 70 % the copy is still fully contained, whatever Jaccard says.
    assert _similarity(text, truncated(text)) == 1.0


def test_a_rewritten_passage_is_not_a_reprint() -> None:
    _, text = read_seed("003")
    words = text.split(" ")
    middle = len(words) // 2
    rewritten = " ".join(words[:middle] + [f"different{i}" for i in range(40)] + words[middle + 40 :])
    fa = TextFingerprint.of(rewritten).content(())
    fb = TextFingerprint.of(text).content(())
    found = evidence(fa.shingles, fb.shingle_set, fa.breaks)
    assert found.containment > 0.8 and found.interior_gap > 20
    assert _similarity(text, rewritten) is None


def test_short_articles_sharing_a_long_bio_are_distinct() -> None:
    first = "Shares in the carmaker rose 4% after it reported record quarterly deliveries and raised its outlook."
    second = "The central bank held interest rates at 5.25% and signalled that cuts were unlikely before autumn."
    assert _similarity(f"{first}\n\n{BIO}", f"{second}\n\n{BIO}") is None
    assert _similarity(first, f"{first}\n\n{BIO}") is not None


def test_the_seeds_are_not_reprints_of_each_other() -> None:
    texts = [read_seed(p)[1] for p in ("000", "001", "002", "003", "004")]
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            assert _similarity(a, b) is None
