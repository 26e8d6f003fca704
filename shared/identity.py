"""Stable identities: the same input always gets the same id, in every service and replica.

Deriving ids from content (instead of generating them) is what makes republishing and
redelivery harmless: a second publish of the same file is the same article, not a new one.
"""

from __future__ import annotations

import hashlib
import uuid

# Fixed namespace so ids are stable across releases; never change it.
_NAMESPACE = uuid.UUID("6f1e3c52-8a7d-4c4e-9d2b-5b0c1e7a9f10")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def article_id(source_file: str, sha256: str, part: int = 0) -> str:
    """The id of the ``part``-th article of the file named ``source_file`` with these bytes."""
    return str(uuid.uuid5(_NAMESPACE, f"article\x00{source_file}\x00{sha256}\x00{part}"))


def entity_id(entity_type: str, canonical_name: str) -> str:
    """One id per canonical name and type, whichever article or replica tags it."""
    return str(uuid.uuid5(_NAMESPACE, f"entity\x00{entity_type}\x00{canonical_name.casefold()}"))


def story_id(founding_article_id: str) -> str:
    """The id of the story an article started: every replica deciding the same way names it the same."""
    return str(uuid.uuid5(_NAMESPACE, f"story\x00{founding_article_id}"))
