"""Validated parameter types shared by the routers: text that Postgres and the query layer can take."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from shared.events import EntityType


def _printable(value: str) -> str:
    # Postgres text cannot hold NUL, and no search term needs a control character.
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


SearchText = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_printable), AfterValidator(_not_blank)
]
EntityKey = Annotated[
    str, StringConstraints(min_length=1, max_length=300), AfterValidator(_printable), AfterValidator(_not_blank)
]
SourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable), AfterValidator(_not_blank)
]
StoryId = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(_printable)]
CursorToken = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_printable)]


def _upper_case(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


# An entity type in any case: "person", "Person" and "PERSON" are the same filter.
EntityTypeParam = Annotated[EntityType, BeforeValidator(_upper_case)]
