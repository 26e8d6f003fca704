"""Opaque keyset cursors: the last row's sort key and id, tied to the sort they were made for.

A cursor says "continue after this row", not "skip N rows", so pages stay stable while articles
arrive: a new article sorts before the cursor (newest-first) or after the last page, never into
pages already read. The token is base64url JSON; it is opaque to clients but validated strictly,
and every value in it reaches SQL only as a bound parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from services.api.errors import ParameterError
from services.store.db.listing.sorts import SORTS, aware_datetime
from shared.text import lone_surrogate_at

CURSOR_VERSION = 1
CURSOR_MAX_CHARS = 1000


def encode_cursor(resource: str, sort: str, key: Any, row_id: str) -> str:
    payload = {"v": CURSOR_VERSION, "r": resource, "s": sort, "k": _encode_key(key), "id": row_id}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _encode_key(key: Any) -> Any:
    if isinstance(key, list | tuple):
        return [_encode_key(part) for part in key]
    if isinstance(key, datetime):
        return key.isoformat()
    if isinstance(key, date):
        return key.isoformat()
    return key


def decode_cursor(token: str, *, resource: str, sort: str) -> tuple[Any, str]:
    """The (sort key, id) a cursor points after; a ParameterError naming ``cursor`` if it is not usable."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise ParameterError("cursor", "not a cursor issued by this API", token) from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION or payload.get("r") != resource:
        raise ParameterError("cursor", f"not a cursor for {resource}", token)
    if not _storable(payload):
        # A forged cursor ("\\ud800" or "\\u0000" in its JSON): text Postgres cannot take.
        raise ParameterError("cursor", "not a cursor issued by this API (its text is not valid Unicode)", token)
    if payload.get("s") != sort:
        raise ParameterError(
            "cursor", f"this cursor continues sort={payload.get('s')!s}; pass the same sort (got sort={sort})", token
        )
    row_id = payload.get("id")
    if not isinstance(row_id, str):
        raise ParameterError("cursor", "not a cursor issued by this API", token)
    return _decode_key(sort, payload.get("k"), token), row_id


def _storable(value: Any) -> bool:
    """True when every string in ``value`` is text Postgres takes: no lone surrogate, no NUL."""
    if isinstance(value, str):
        return lone_surrogate_at(value) is None and "\x00" not in value
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    return True


def _int_key(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _text_key(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a text")
    return value


# Each sort's key decoder: the article listing's from its registry, then the other resources'.
KEY_DECODERS: dict[str, Callable[[Any], Any]] = {
    **{sort.value: spec.decode_key for sort, spec in SORTS.items()},
    "-last_ingested_at": aware_datetime,
    "-article_count": _int_key,
    "name": _text_key,
}


def _decode_key(sort: str, key: Any, token: str) -> Any:
    decoder = KEY_DECODERS.get(sort)
    try:
        if decoder is None:
            raise ValueError(f"no sort {sort}")
        return decoder(key)
    except ValueError:
        raise ParameterError("cursor", "not a cursor issued by this API", token) from None
