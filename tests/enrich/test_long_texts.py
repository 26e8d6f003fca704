"""Articles longer than one spaCy call (issue 19): tagged in pieces, joined back with the text's offsets."""

from __future__ import annotations

import pytest

from services.enrich.entities import tagger as tagger_module
from services.enrich.entities.tagger import EntityTagger, split_pieces
from tests.conftest import SEEDS_DIR


def test_pieces_cover_the_text_exactly_and_prefer_paragraph_ends() -> None:
    text = "".join(f"Paragraph {n} says the mayor spoke.\n\n" for n in range(400))
    pieces = split_pieces(text, 1000)
    assert "".join(pieces) == text
    assert all(len(piece) <= 1000 for piece in pieces)
    assert all(piece.endswith("\n\n") for piece in pieces[:-1]), "cut after a blank line when there is one"
    unbroken = "x" * 2500
    assert split_pieces(unbroken, 1000) == ["x" * 1000, "x" * 1000, "x" * 500], "a hard cut when nothing else"
    assert split_pieces("short", 1000) == ["short"]


def test_a_text_tagged_in_pieces_finds_the_entities_of_every_piece_at_their_offsets(
    tagger: EntityTagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = next(SEEDS_DIR.glob("001_*.txt")).read_text()
    copies = 12
    text = "\n\n".join([seed] * copies)
    whole = tagger.mentions([seed])[0]
    monkeypatch.setattr(tagger_module, "PIECE_CHARS", len(seed) + 10)  # about one copy a piece
    (found,) = tagger.mentions([text])
    assert all(text[m.start : m.end] == m.text for m in found), "offsets point at the text itself"
    names = {m.text for m in whole if m.from_model}
    for name in names:
        assert sum(1 for m in found if m.text == name) >= copies, f"{name} found in every piece"
