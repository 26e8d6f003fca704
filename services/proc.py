"""Small process helpers shared by the supervisor and the embedded broker."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child (``preexec_fn``): ask Linux to SIGTERM us if the parent dies, even by SIGKILL.

    This is what guarantees no orphaned service or broker is left behind when the supervisor
    itself is killed. A no-op where prctl does not exist.
    """
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop_on_signals(on_stop: Callable[[], None] | None = None) -> threading.Event:
    """An event set on SIGINT/SIGTERM (graceful stop); call from the main thread."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        stop.set()
        if on_stop is not None:
            on_stop()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    return stop
