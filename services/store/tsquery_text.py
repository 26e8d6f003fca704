"""The tokens of a tsquery as Postgres prints it (``websearch_to_tsquery(...)::text``).

Quoted lexemes (a quote inside one doubled, maybe followed by ``:*`` or weights), the operators
``! & | <-> <N>`` and parentheses. The read API reads a search's parsed query twice: for the
words to highlight (``snippets``) and for the share of the archive it should match
(``db.listing.search_estimate``).
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'(?::[*A-Da-d]+)?|(<\d*-?>|[!&|()]))")


def token_of(found: re.Match[str]) -> tuple[str | None, str | None]:
    """One match of TOKEN as (lexeme, None) or (None, operator), the lexeme's doubled quotes undone."""
    lexeme, operator = found.groups()
    return (lexeme.replace("''", "'") if lexeme is not None else None), operator
