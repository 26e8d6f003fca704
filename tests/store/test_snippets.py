"""Search snippets: the query's words found by their English stems, marked, escaped; never a negated word.

The stems are checked against Postgres's own ``english`` configuration, so the highlighting and
the search agree on what a word is.
"""

from __future__ import annotations

import psycopg
import pytest

from services.store.snippets import FRAGMENT_DELIMITER, FRAGMENT_WORDS, query_lexemes, search_snippet


def _tsquery(postgres_admin_url: str, q: str) -> str:
    with psycopg.connect(postgres_admin_url) as conn:
        row = conn.execute("SELECT websearch_to_tsquery('english', %s)::text", (q,)).fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nuclear testing", {"nuclear", "test"}),
        ('"nuclear testing" -Trump', {"nuclear", "test"}),
        ('studies -"Imran Khan"', {"studi"}),
        ("markets or dying", {"market", "die"}),
        ("the and of", set()),
        ("O'Brien's", {"o", "brien"}),
    ],
)
def test_lexemes_come_from_postgres_parse_without_negated_words(
    postgres_admin_url: str, q: str, expected: set[str]
) -> None:
    assert query_lexemes(_tsquery(postgres_admin_url, q)) == expected


def test_words_are_matched_by_stem_and_marked_safely(postgres_admin_url: str) -> None:
    lexemes = query_lexemes(_tsquery(postgres_admin_url, "nuclear testing studies"))
    body = "Officials said <b>nuclear</b> tests & a study of testing grounds continued; newsprint unaffected."
    assert search_snippet(body, lexemes) == (
        "Officials said &lt;b&gt;<mark>nuclear</mark>&lt;/b&gt; <mark>tests</mark> &amp; a <mark>study</mark> "
        "of <mark>testing</mark> grounds continued; newsprint unaffected."
    )
    # A word that merely starts like a query word is not a match: 'testament' and 'testy' are other stems.
    assert "<mark>" not in search_snippet("A testy talk about a testament.", lexemes)


def test_long_bodies_give_two_fragments_around_the_matches() -> None:
    filler = " ".join(f"w{i}" for i in range(200))
    body = f"Opening words {filler} first market here {filler} second market there {filler} ending."
    snippet = search_snippet(body, frozenset({"market"}))
    assert snippet.count("<mark>market</mark>") == 2
    assert snippet.count(FRAGMENT_DELIMITER) == 1
    for fragment in snippet.split(FRAGMENT_DELIMITER):
        assert len(fragment.split()) <= FRAGMENT_WORDS


def test_a_body_without_the_words_shows_its_opening() -> None:
    body = " ".join(f"word{i}" for i in range(100))
    snippet = search_snippet(body, frozenset({"title"}))
    assert snippet.startswith("word0 word1 ") and "<mark>" not in snippet
    assert len(snippet.split()) == FRAGMENT_WORDS
    assert search_snippet("", frozenset({"title"})) == ""
