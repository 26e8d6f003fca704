"""What happened to one claimed file (``Outcome``): what the processor returns and the service counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "failed": newsflow could not finish the file this time (it stays claimed; see MAX_ATTEMPTS).
# A quarantined file is "rejected" with reason "quarantined".
Status = Literal["published", "rejected", "retry", "failed"]


@dataclass
class Outcome:
    """What happened to one file."""

    relpath: str
    status: Status
    articles: int = 0
    reason: str | None = None
    duplicate: bool = False
    bad_records: int = 0
