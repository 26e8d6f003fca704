"""Bounded gunzip: a decompression bomb is refused without ever being inflated in full."""

from __future__ import annotations

import zlib
from typing import Final

from services.ingest.parsing.errors import Rejection

GZIP_MAGIC: Final = b"\x1f\x8b"
_CHUNK_BYTES: Final = 64 * 1024


def gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    """The decompressed bytes (all gzip members), or a rejection past ``max_bytes``."""
    out = bytearray()
    pending = data
    try:
        while pending:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = pending
            while True:
                # max_length bounds each step, so memory never exceeds the limit plus one chunk.
                piece = inflater.decompress(chunk, _CHUNK_BYTES)
                out += piece
                if len(out) > max_bytes:
                    raise Rejection(
                        "too_large",
                        f"The archive inflates to more than {max_bytes:,} bytes (the limit, "
                        "NEWSFLOW_MAX_FILE_BYTES); split it or raise the limit.",
                    )
                chunk = inflater.unconsumed_tail
                if inflater.eof or (not chunk and not piece):
                    break
            if not inflater.eof:
                raise Rejection("corrupt_gzip", "The .gz file is truncated; copy it again completely.")
            # Concatenated gzip members are legal (e.g. `cat a.gz b.gz`); continue with the next.
            pending = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise Rejection("corrupt_gzip", f"The .gz file is damaged ({exc}); copy it again or re-compress it.") from exc
    return bytes(out)
