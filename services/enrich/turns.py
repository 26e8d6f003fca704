"""Who uses the spaCy pipeline next: the consumer loop's batches before deferred pieces of long articles.

Enrich tags with one pipeline from two threads: the consumer loop (new articles, which must flow
within seconds) and the deferred tagger (the rest of long articles, one piece of ~25,000 characters,
about half a CPU second, at a time). A batch waits at most for the piece being tagged; a piece
waits while any batch is being handled. The pipeline is never used by both at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared.consumer import TransientError

# How often a waiting piece checks whether the service is stopping.
_STOP_CHECK_SECONDS = 0.5


class TaggingTurns:
    """Batches first, pieces between them."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._batches = 0
        self._piece = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the pipeline for one batch, after the piece being tagged (if any)."""
        with self._changed:
            self._batches += 1
            while self._piece:
                self._changed.wait()
        try:
            yield
        finally:
            with self._changed:
                self._batches -= 1
                self._changed.notify_all()

    @contextmanager
    def piece(self, stop: threading.Event) -> Iterator[None]:
        """Hold the pipeline for one piece once no batch is waiting or running.

        Raises ``TransientError`` when ``stop`` is set meanwhile: the consumer loop then leaves the
        deferred message uncommitted, so the article is tagged again after the restart.
        """
        with self._changed:
            while self._batches or self._piece:
                if stop.is_set():
                    raise TransientError("stopping: deferred tagging resumes after the restart")
                self._changed.wait(_STOP_CHECK_SECONDS)
            self._piece = True
        try:
            yield
        finally:
            with self._changed:
                self._piece = False
                self._changed.notify_all()
