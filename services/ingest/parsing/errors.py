"""Why a file or record is refused: machine reason codes and the exception that carries them."""

from __future__ import annotations

from typing import Final

# Every reason a whole file can be rejected for; metrics initialise one label per code.
FILE_REASONS: Final = (
    "empty",
    "blank",
    "binary",
    "undecodable",
    "too_large",
    "corrupt_gzip",
    "invalid_json",
    "invalid_record",
    "no_article_text",
    "unsupported_type",
    "symlink",
    "symlink_outside_inbox",
    "not_a_regular_file",
    "publish_failed",
    "parse_failed",
)


class Rejection(Exception):
    """A file that can never be ingested as it is; ``message`` tells a person what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
