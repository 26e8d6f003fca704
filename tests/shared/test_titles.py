"""Headlines derived from a body: the first sentence, without its full stop, cut to a headline's length."""

from __future__ import annotations

import pytest

from shared.titles import ELLIPSIS, HEADLINE_MAX_CHARS, derive_title, first_sentence


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("Storm closes port. Ships wait outside.", "Storm closes port."),
        ("Mr. Khan spoke on Monday. Others did not.", "Mr. Khan spoke on Monday."),
        ("The U.S. economy grew 3% in the quarter. Analysts said more.", "The U.S. economy grew 3% in the quarter."),
        ("J. K. Rowling wrote again. Fans cheered.", "J. K. Rowling wrote again."),
        ('"We will win," he said. "Soon."', '"We will win," he said.'),
        ("Shares rose 3.5% on Friday! Traders cheered.", "Shares rose 3.5% on Friday!"),
        ("One paragraph without a stop\n\nA second paragraph.", "One paragraph without a stop"),
        ("  Spaces\n inside   the   first line.  ", "Spaces inside the first line."),
    ],
)
def test_the_first_sentence(body: str, sentence: str) -> None:
    assert first_sentence(body) == sentence


def test_a_short_sentence_is_the_headline_without_its_full_stop() -> None:
    assert derive_title("Storm closes port. Ships wait outside.") == "Storm closes port"
    assert derive_title("Talks resume in the U.S.") == "Talks resume in the U.S."
    assert derive_title("Did the vote count?") == "Did the vote count?"


def test_a_long_sentence_is_cut_at_a_word_or_clause_and_never_ends_on_a_dangling_word() -> None:
    body = (
        "Defence Minister Khawaja Asif has dismissed rumors suggesting that former Prime Minister Imran Khan, "
        "currently imprisoned, might be extradited to the United States following the election."
    )
    title = derive_title(body)
    assert (
        title == "Defence Minister Khawaja Asif has dismissed rumors suggesting that former Prime Minister Imran Khan…"
    )
    long_words = "A TV station in the US has refused to show a controversial new series where adopted children try the"
    for text in (body, long_words + " patience of their parents every week.", "x" * 300):
        derived = derive_title(text)
        assert len(derived) <= HEADLINE_MAX_CHARS and derived.endswith(ELLIPSIS)
        assert derived[: -len(ELLIPSIS)].split(" ")[-1].lower() not in {"the", "of", "to", "a", "and"}
