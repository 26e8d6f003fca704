"""One dropped file to articles: size rules, .gz, format by name or content, decoding, parsing."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final, Literal

from services.ingest.parsing.article import ParsedFile
from services.ingest.parsing.decode import declared_encoding, decode_text, looks_like
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.gz import GZIP_MAGIC, gunzip_limited
from services.ingest.parsing.html import parse_html
from services.ingest.parsing.plaintext import parse_plain_text
from services.ingest.parsing.structured import parse_json_document, parse_json_lines

ContentType = Literal["text", "html", "json", "jsonl"]
_BY_EXTENSION: Final[dict[str, ContentType]] = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".shtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
}
# Formats people may drop that newsflow does not read (yet): refused by name, with a reason.
_UNSUPPORTED: Final = frozenset(
    [
        ".pdf",
        ".doc",
        ".docx",
        ".odt",
        ".rtf",
        ".xls",
        ".xlsx",
        ".csv",
        ".ppt",
        ".pptx",
        ".epub",
        ".xml",
        ".rss",
        ".atom",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".bmp",
        ".tif",
        ".tiff",
        ".svg",
        ".heic",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".wav",
        ".zip",
        ".tar",
        ".tgz",
        ".7z",
        ".rar",
        ".bz2",
        ".xz",
        ".exe",
        ".dll",
        ".so",
        ".bin",
        ".iso",
    ]
)
SUPPORTED_HINT: Final = "newsflow reads .txt, .html, .json, .jsonl/.ndjson and .gz of any of them"
_SNIFF_CHARS: Final = 2048


def parse_file(name: str, data: bytes, *, max_bytes: int) -> ParsedFile:
    """Articles in the file ``name`` holding ``data``; raises :class:`Rejection` for a bad file.

    A multi-article file with some bad records returns the good ones and lists the bad ones
    in ``errors``; it is rejected as a whole only when no record is readable.
    """
    if not data:
        raise Rejection("empty", "The file is empty (0 bytes); drop it again once it is written completely.")
    inner = name
    if name.lower().endswith(".gz") or data.startswith(GZIP_MAGIC):
        data = gunzip_limited(data, max_bytes)
        inner = name[:-3] if name.lower().endswith(".gz") else name
        if not data:
            raise Rejection("empty", "The .gz archive holds an empty file; compress the article itself.")
    extension = PurePosixPath(inner).suffix.lower()
    content_type = _BY_EXTENSION.get(extension)
    if content_type is None:
        _refuse_unsupported(extension, data)
    # Only pages declare their encoding; a .txt quoting "<meta charset=...>" does not.
    declared = declared_encoding(data) if content_type in ("html", None) else None
    text, encoding = decode_text(data, declared)
    if not text.strip():
        raise Rejection("blank", "The file holds only white space; drop it again with the article's text.")
    content_type = content_type or _sniff(text)
    parsed = ParsedFile(content_type=content_type, encoding=encoding)
    if content_type == "text":
        parsed.articles = [(0, parse_plain_text(text))]
    elif content_type == "html":
        parsed.articles = [(0, parse_html(text))]
    else:
        reader = parse_json_document if content_type == "json" else parse_json_lines
        parsed.articles, parsed.errors = reader(text)
        if not parsed.articles:
            _refuse_all_records(parsed)
    return parsed


def _refuse_unsupported(extension: str, data: bytes) -> None:
    what = looks_like(data)
    if extension in _UNSUPPORTED or what:
        kind = what or f"a '{extension}' file"
        raise Rejection("unsupported_type", f"This is {kind}, which is not supported: {SUPPORTED_HINT}.")


def _sniff(text: str) -> ContentType:
    # No known extension (names like "Mr. Smith's story" have odd suffixes): look at the text.
    head = text.lstrip("\ufeff \t\r\n")[:_SNIFF_CHARS].lower()
    if head.startswith("<") and ("<html" in head or "<!doctype html" in head or "<body" in head):
        return "html"
    if head.startswith(("{", "[")):
        return "json"
    return "text"


def _refuse_all_records(parsed: ParsedFile) -> None:
    if not parsed.errors:
        raise Rejection("no_article_text", "The file holds no articles (an empty list or only blank lines).")
    first = parsed.errors[0]
    more = f" {len(parsed.errors) - 1} more records are bad too." if len(parsed.errors) > 1 else ""
    raise Rejection(first.reason, f"No record could be read. {first.message}{more}")
