"""Plain-text parsing over the five seeds and invented variants of the same conventions (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.plaintext import parse_plain_text
from tests.conftest import SEEDS_DIR


def _seed(prefix: str) -> str:
    (path,) = SEEDS_DIR.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("prefix", "published"),
    [("000", None), ("001", date(2025, 2, 4)), ("002", date(2024, 11, 7)), ("003", date(2024, 11, 3)),
     ("004", date(2024, 11, 8))],
)  # fmt: skip
def test_seed_published_dates(prefix: str, published: date | None) -> None:
    assert parse_plain_text(_seed(prefix)).published_at == published


def test_seed_000_dateline_and_author_bio() -> None:
    article = parse_plain_text(_seed("000"))
    assert article.title is None
    assert article.dateline == "Islamabad"
    assert article.body.startswith("Defence Minister Khawaja Asif has dismissed rumors")
    assert "experienced writer" not in article.body
    assert article.boilerplate[-1].startswith("I am an experienced writer")
    # Body characters are kept as written (typographic apostrophes stay).
    assert "Donald Trump’s victory" in article.body


def test_seed_001_title_date_line_and_site_furniture() -> None:
    article = parse_plain_text(_seed("001"))
    assert article.title == "Asif rules out possibility of pressure from US for Imran Khan's release"
    assert article.body.startswith("Defence Minister Khawaja Asif has firmly dismissed")
    assert "Imran Khan's party stage rally in Islamabad; demand his immediate release" in article.boilerplate
    assert "Tuesday | February 04, 2025" in article.boilerplate
    for furniture in ("Leave a Comment", "Scroll to Top", "Your email address"):
        assert furniture not in article.body
        assert any(furniture in removed for removed in article.boilerplate)
    assert "\u00a0" not in article.body


def test_seed_002_has_no_title_line() -> None:
    article = parse_plain_text(_seed("002"))
    assert article.title is None
    assert article.body.startswith("The Pakistan Tehreek-e-Insaf (PTI) has pinned its hopes")
    assert article.boilerplate == ["date 2024-11-07"]


def test_seed_003_one_sentence_headline_before_a_bracket_dateline() -> None:
    article = parse_plain_text(_seed("003"))
    assert article.title is not None and article.title.startswith("Pakistanis believe Trump's potential return")
    assert article.dateline == "Islamabad"
    assert article.body.startswith("Speculation is growing in Pakistan")


def test_seed_004_agency_dateline_and_source_credit() -> None:
    article = parse_plain_text(_seed("004"))
    assert article.dateline == "Islamabad"
    assert article.source == "IANS"
    assert article.body.startswith("Foreign policy experts in Pakistan")
    assert article.body.endswith("he said.")
    assert "Source: IANS" in article.boilerplate


def test_every_seed_keeps_all_its_article_text() -> None:
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        article = parse_plain_text(path.read_text(encoding="utf-8"))
        assert len(article.body) > 1500, path.name
        assert "\n\n" in article.body, "paragraphs are kept apart"


# --- invented variants: the same conventions written differently ----------------------------


def test_caps_dateline_with_agency_byline_and_site_suffix_in_title() -> None:
    text = (
        "Markets rally on rate hopes | Reuters\r\n\r\nBy Jane Doe\r\n\r\nPublished: 12 March 2024, 09:15 GMT\r\n\r\n"
        "NEW YORK (Reuters) - Stocks rose on Tuesday as investors bet on lower rates.\r\n\r\n"
        "Analysts said the rally could continue.\r\n\r\nFollow us on Twitter and Facebook for the latest news. "
        "Subscribe to our newsletter to get the day's top stories.\r\n"
    )
    article = parse_plain_text(text)
    assert article.title == "Markets rally on rate hopes"
    assert article.byline == "Jane Doe"
    assert article.published_at == date(2024, 3, 12)
    assert article.dateline == "New York"
    assert article.source == "Reuters"
    assert (
        article.body
        == "Stocks rose on Tuesday as investors bet on lower rates.\n\nAnalysts said the rally could continue."
    )
    assert article.boilerplate[-1].startswith("Follow us on Twitter")


def test_staff_byline_names_the_agency_and_hard_wrapped_lines_are_joined() -> None:
    text = (
        "Police detain milk bosses\n\nBy Press Association Staff\n\n"
        "Chinese police have detained three top executives at milk firm Yili,\n"
        "with reports suggesting that they are being investigated for\nembezzlement.\n\n"
        "(This story has not been edited by our staff and is auto-generated from a syndicated feed.)\n"
    )
    article = parse_plain_text(text)
    assert article.source == "Press Association"
    assert article.body == (
        "Chinese police have detained three top executives at milk firm Yili, with reports suggesting "
        "that they are being investigated for embezzlement."
    )
    assert len(article.boilerplate) == 2


def test_mixed_case_dateline_with_date_and_colon_and_typographic_title() -> None:
    text = "“Talks” resume in Doha\n\nDoha, Jan. 5: Negotiators met again on Sunday.\n\nMore talks are planned.\n"
    article = parse_plain_text(text)
    assert article.title == '"Talks" resume in Doha'
    assert article.dateline == "Doha"
    assert article.body.startswith("Negotiators met again")


def test_third_person_author_note_and_copyright_line_are_boilerplate() -> None:
    text = (
        "The harbour reopened after the storm, officials said on Monday.\n\n"
        "Ships queued outside the port for two days.\n\n"
        "Maria Lopez is a freelance journalist based in Valparaiso.\n\n© 2024 Coast Times. All rights reserved.\n"
    )
    article = parse_plain_text(text)
    assert article.body.endswith("Ships queued outside the port for two days.")
    assert article.boilerplate == [
        "Maria Lopez is a freelance journalist based in Valparaiso.",
        "© 2024 Coast Times. All rights reserved.",
    ]


def test_a_sentence_mentioning_furniture_words_stays_in_the_body() -> None:
    text = "Readers were asked to leave a comment on the proposal before Friday, the council said.\n"
    article = parse_plain_text(text)
    assert article.body == text.strip()
    assert article.boilerplate == []


def test_mixed_case_word_with_colon_is_not_a_dateline() -> None:
    article = parse_plain_text("However: the minister disagreed with the plan, aides said.\n")
    assert article.dateline is None
    assert article.body.startswith("However:")


def test_only_boilerplate_is_rejected_with_a_reason() -> None:
    with pytest.raises(Rejection) as caught:
        parse_plain_text("date 2024-01-02\n\nLeave a Comment\n\nScroll to Top\n")
    assert caught.value.reason == "no_article_text"


def test_known_title_from_metadata_is_not_repeated_in_the_body() -> None:
    article = parse_plain_text("Budget passes\n\nThe budget passed by 201 votes.\n", title="Budget passes")
    assert article.title == "Budget passes"
    assert article.body == "The budget passed by 201 votes."
