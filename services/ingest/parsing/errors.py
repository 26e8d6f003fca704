"""Why a file or record is refused: machine reason codes and the exception that carries them."""

from __future__ import annotations

from typing import Final

from shared.text import lone_surrogate_at

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
    "hard_link",
    "unreadable",
    "invalid_text",
    "too_many_members",
    "internal_error",
    "quarantined",
)


class Rejection(Exception):
    """A file that can never be ingested as it is; ``message`` tells a person what to do."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def check_unicode(text: str, what: str) -> None:
    """Refuse text holding a lone UTF-16 surrogate (JSON's ``\\udc00`` alone): it is not a character."""
    at = lone_surrogate_at(text)
    if at is not None:
        raise Rejection(
            "invalid_text",
            f"{what} holds \\u{ord(text[at]):04x} at character {at + 1}: half of a UTF-16 surrogate pair, "
            "which is not a character and cannot be stored. Fix the program that wrote this JSON (it split "
            "a pair such as \\ud83d\\ude00) and drop the file again.",
        )
