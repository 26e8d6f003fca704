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
import math
from datetime import date, datetime
from typing import Any

from services.store.api.errors import ParameterError
from shared.text import lone_surrogate_at

CURSOR_VERSION = 1
CURSOR_MAX_CHARS = 1000
_INFINITE_DATES = ("infinity", "-infinity")


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


def _aware_datetime(value: Any, bad: ParameterError) -> datetime:
    """An ISO timestamp with its time zone, as cursors carry them; ``bad`` otherwise."""
    if not isinstance(value, str):
        raise bad
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad from None
    if parsed.tzinfo is None:
        raise bad
    return parsed


def _decode_key(sort: str, key: Any, token: str) -> Any:
    bad = ParameterError("cursor", "not a cursor issued by this API", token)
    if sort in ("-ingested_at", "ingested_at", "-last_ingested_at"):
        return _aware_datetime(key, bad)
    if sort in ("-published_at", "published_at"):
        if key in _INFINITE_DATES:
            return key
        if not isinstance(key, str):
            raise bad
        try:
            return date.fromisoformat(key).isoformat()
        except ValueError:
            raise bad from None
    if sort == "relevance":
        # [rank, window floor's ingested_at, window floor's id]: the rank to continue after and the
        # window of newest matches the first page ranked (see db.queries.articles.RELEVANCE_WINDOW).
        if not isinstance(key, list) or len(key) != 3:
            raise bad
        rank, floor_at, floor_id = key
        if isinstance(rank, bool) or not isinstance(rank, int | float) or not math.isfinite(rank):
            raise bad
        if not isinstance(floor_id, str):
            raise bad
        return [float(rank), _aware_datetime(floor_at, bad), floor_id]
    if sort == "-article_count":
        if isinstance(key, bool) or not isinstance(key, int):
            raise bad
        return key
    if sort == "name":
        if not isinstance(key, str):
            raise bad
        return key
    raise bad
