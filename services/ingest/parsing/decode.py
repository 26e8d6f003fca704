"""Bytes to text: binary sniffing, BOMs, UTF-8, and detection of legacy encodings (cp1252...)."""

from __future__ import annotations

import codecs
import re
from typing import Final

from charset_normalizer import from_bytes

from services.ingest.parsing.errors import Rejection

# Signatures of common non-text files, so the rejection can say what the file looks like.
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel file)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ID3", "an MP3 audio file"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
)
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Text has almost no control characters; more than this share means the bytes are not text.
MAX_CONTROL_CHAR_RATIO: Final = 0.01
_ALLOWED_CONTROLS: Final = frozenset("\t\n\r\f\v\x1b")
_SNIFF_BYTES: Final = 64 * 1024

# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, <?xml encoding="x"?>
_DECLARATION = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*(?P<meta>[\w.:\-]+)|<\?xml\b[^>]*?encoding\s*=\s*["'](?P<xml>[\w.:\-]+)""",
    re.I,
)
# HTML wants the declaration within the first 1024 bytes; real pages put long <head>s before it.
_DECLARATION_SCAN_BYTES: Final = 8 * 1024
# What browsers decode these labels as (WHATWG Encoding Standard), and so the pages' authors saw.
_AS_BROWSERS_READ: Final = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "big5": "big5hkscs",
}


def declared_encoding(data: bytes) -> str | None:
    """The encoding an HTML/XML document declares for itself (a Python codec name), if any usable."""
    match = _DECLARATION.search(data[:_DECLARATION_SCAN_BYTES])
    if not match:
        return None
    label = (match.group("meta") or match.group("xml")).decode("ascii", "replace")
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        # Such a page would carry a BOM (handled first); an ASCII-readable one mislabels itself.
        return None
    return _AS_BROWSERS_READ.get(name, name)


def looks_like(data: bytes) -> str | None:
    """What well-known binary format ``data`` starts with ("a PNG image"), if any."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    if data[4:8] == b"ftyp":
        return "a video or audio file (MP4/MOV)"
    if data.startswith(b"RIFF") and data[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "a RIFF media file (WebP/WAV/AVI)"
    return None


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """``(text, encoding)``; raises :class:`Rejection` for binary or undecodable bytes.

    ``declared`` (a page's own ``<meta charset>``) is trusted over detection, but not over
    valid UTF-8: pages re-saved as UTF-8 often keep their old declaration.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data.decode(encoding), encoding), encoding
            except UnicodeDecodeError as exc:
                raise Rejection(
                    "undecodable",
                    f"The file starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()} "
                    f"(bad bytes at offset {exc.start}); re-save it as UTF-8.",
                ) from exc
    what = looks_like(data)
    if what:
        raise Rejection("binary", f"This is {what}, not text; drop the article as text, HTML, JSON or JSON Lines.")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise Rejection(
            "binary",
            "The file contains NUL bytes, so it is binary (or UTF-16 without a byte-order mark); "
            "save it as UTF-8 text.",
        )
    try:
        return _checked(data.decode("utf-8"), "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if declared and declared != "utf-8":
        try:
            return _checked(data.decode(declared), declared), declared
        except UnicodeDecodeError:
            pass  # the declaration is wrong: detect instead
    # Short Western texts fool the general detector into Baltic or Mac code pages; the West's
    # everyday legacy encoding is cp1252, so it is tried first and kept when it reads cleanly
    # (Cyrillic, Greek or Central European bytes read as cp1252 are too chaotic to pass).
    western = from_bytes(data, cp_isolation=["cp1252"]).best()
    best = western or from_bytes(data).best()
    if best is None or best.encoding is None:
        raise Rejection(
            "undecodable",
            "The file is neither UTF-8 nor a text encoding that could be recognised; re-save it as UTF-8.",
        )
    return _checked(str(best), best.encoding), best.encoding


def _checked(text: str, encoding: str) -> str:
    sample = text[:_SNIFF_BYTES]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if sample and controls / len(sample) > MAX_CONTROL_CHAR_RATIO:
        raise Rejection(
            "binary",
            f"The file decodes as {encoding} but is full of control characters, so it is not text; "
            "drop the article as text, HTML, JSON or JSON Lines.",
        )
    return text
