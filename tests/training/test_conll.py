"""The CoNLL reader the NER model is trained from: documents as news text, entities as character spans."""

from __future__ import annotations

from pathlib import Path

from training.ner.conll import read_conll, split

# A made-up document in CoNLL-2003's format (token, POS, chunk, IOB2 tag), not the training data.
SAMPLE = """-DOCSTART- -X- -X- O

SOCCER NN B-NP O
- : O O
ACME NNP B-NP B-ORG
WIN VB B-VP O
. . O O

LONDON NNP B-NP B-LOC
1996-08-30 CD I-NP O

Jane NNP B-NP B-PER
Doe NNP I-NP I-PER
's POS B-NP O
team NN I-NP O
( ( O O
Acme NNP B-NP B-ORG
United NNP I-NP I-ORG
) ) O O
did VBD B-VP O
n't RB O O
lose VB B-VP O
to TO B-PP O
the DT B-NP O
Dutch JJ I-NP B-MISC
side NN I-NP O
, , O O
" " O O
she PRP B-NP O
said VBD B-VP O
. . O O

-DOCSTART- -X- -X- O

Paris NNP B-NP B-LOC
. . O O
"""


def test_documents_read_as_news_text_with_entity_spans(tmp_path: Path) -> None:
    path = tmp_path / "sample.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    first, second = read_conll(path)
    assert first.text == (
        "SOCCER - ACME WIN.\n\nLONDON 1996-08-30\n"
        "Jane Doe's team (Acme United) didn't lose to the Dutch side, \" she said."
    )
    assert [(s.label, first.text[s.start : s.end]) for s in first.spans] == [
        ("ORG", "ACME"),
        ("LOC", "LONDON"),
        ("PER", "Jane Doe"),
        ("ORG", "Acme United"),
        ("MISC", "Dutch"),
    ]
    assert first.surfaces() == {("ORG", "ACME"), ("LOC", "LONDON"), ("PER", "Jane Doe"), ("ORG", "Acme United")}
    assert second.text == "Paris." and second.surfaces() == {("LOC", "Paris")}


def test_the_held_out_split_is_stable_whatever_the_order(tmp_path: Path) -> None:
    path = tmp_path / "sample.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    documents = read_conll(path)
    kept, held = split(documents, 50)
    kept_again, held_again = split(list(reversed(documents)), 50)
    assert {d.key for d in held} == {d.key for d in held_again}
    assert {d.key for d in kept} == {d.key for d in kept_again}
    assert len(kept) + len(held) == len(documents)
