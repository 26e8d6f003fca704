"""What ``newsflow ingest PATH --once`` does with the files of the folder it was given (``--sources``).

Its own module so the CLI can offer the choice without importing the ingest machinery.
"""

from __future__ import annotations

from enum import StrEnum


class SourceHandling(StrEnum):
    """keep: left as they are (the archive keeps a copy); move: into the archive; delete: once published."""

    keep = "keep"
    move = "move"
    delete = "delete"
