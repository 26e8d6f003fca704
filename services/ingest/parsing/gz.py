"""Bounded gunzip: a decompression bomb is refused without ever being inflated in full.

Time is bounded too. The input is fed to the inflater in slices, so what it holds back after a
member ends (``unused_data``) is at most one slice: handing it the whole rest of the file instead
copied that rest once per member, which made a file of 200,000 tiny members take a minute. And
the number of members is limited: a real ``.gz`` has one, or a handful from ``cat a.gz b.gz``.
"""

from __future__ import annotations

import zlib
from typing import Final

from services.ingest.parsing.errors import Rejection

GZIP_MAGIC: Final = b"\x1f\x8b"
_CHUNK_BYTES: Final = 64 * 1024
# Bytes of input handed to the inflater at a time (see the module docstring).
_INPUT_SLICE_BYTES: Final = 64 * 1024
MAX_MEMBERS: Final = 1000


def gunzip_limited(data: bytes, max_bytes: int, *, max_members: int = MAX_MEMBERS) -> bytes:
    """The decompressed bytes (all gzip members), or a rejection past ``max_bytes`` or ``max_members``."""
    out = bytearray()
    view = memoryview(data)
    position = _skip_padding(view, 0)
    members = 0
    try:
        while position < len(view):
            members += 1
            if members > max_members:
                raise Rejection(
                    "too_many_members",
                    f"The .gz file joins more than {max_members:,} compressed parts (gzip members); a news file "
                    "has one. Compress the article as one file (gzip FILE) and drop that.",
                )
            position = _inflate_member(view, position, out, max_bytes)
            # Concatenated gzip members are legal (e.g. `cat a.gz b.gz`); continue with the next.
            position = _skip_padding(view, position)
    except zlib.error as exc:
        raise Rejection("corrupt_gzip", f"The .gz file is damaged ({exc}); copy it again or re-compress it.") from exc
    return bytes(out)


def _inflate_member(view: memoryview, position: int, out: bytearray, max_bytes: int) -> int:
    """Inflate the member starting at ``position`` into ``out``; where the next one starts."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    while not inflater.eof:
        if position >= len(view) and not inflater.unconsumed_tail:
            raise Rejection("corrupt_gzip", "The .gz file is truncated; copy it again completely.")
        chunk: bytes | memoryview = inflater.unconsumed_tail or view[position : position + _INPUT_SLICE_BYTES]
        if not inflater.unconsumed_tail:
            position += len(chunk)
        # max_length bounds each step, so memory never exceeds the limit plus one chunk.
        piece = inflater.decompress(chunk, _CHUNK_BYTES)
        out += piece
        if len(out) > max_bytes:
            raise Rejection(
                "too_large",
                f"The archive inflates to more than {max_bytes:,} bytes (the limit, "
                "NEWSFLOW_MAX_FILE_BYTES); split it or raise the limit.",
            )
    # What the inflater read past the member's end belongs to the next member.
    return position - len(inflater.unused_data)


def _skip_padding(view: memoryview, position: int) -> int:
    # Some tools pad a .gz with zero bytes after the last member.
    while position < len(view) and view[position] == 0:
        position += 1
    return position
