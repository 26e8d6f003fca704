"""A name people write in is a publication: "wrote in Dawn", "writing for The Nation".

The model knows few of the world's newspapers and types a name after "in" as a place. The verb
before it says otherwise: one writes *in* or *for* a publication, which is an organisation.
"""

from __future__ import annotations

import re
from dataclasses import replace

from services.enrich.entities.mentions import Mention

# The words right before a publication's name: "wrote in", "writing for the", "published in".
_WRITTEN_IN = re.compile(r"\b(?:wrote|writes|writing|written|published)\s+(?:in|for)\s+(?:the\s+)?$", re.IGNORECASE)
# How far back the verb may start.
_LOOK_BACK_CHARS = 30


def retype_publications(text: str, mentions: list[Mention]) -> list[Mention]:
    """``mentions`` with each name written in or for typed ORG."""
    return [
        replace(m, type="ORG")
        if m.type in ("LOCATION", "PERSON") and _WRITTEN_IN.search(text, max(0, m.start - _LOOK_BACK_CHARS), m.start)
        else m
        for m in mentions
    ]
