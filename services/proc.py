"""Process helpers of the supervisor and the embedded broker: dying with the parent, stopping on signals."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

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


# Signals GNU make treats as "stop": its handler for them resets the signal to the default and then
# waits for the running recipe to end (SIGTERM alone is passed on to the recipe).
_MAKE_STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)
_MAKE_NAMES = frozenset({"make", "gmake"})
_PARENT_POLL_SECONDS = 0.5


def stop_with_make(stop: threading.Event) -> threading.Thread | None:
    """Under ``make run``: set ``stop`` when make is told to stop, whatever the signal.

    GNU make passes SIGTERM on to its recipe but not SIGINT: it expects the terminal to have sent
    SIGINT to the whole foreground process group (as Ctrl-C does), so ``kill -INT <make's pid>``
    left the pipeline running while make waited for it forever. make's handler first sets the
    signal back to its default and only then waits: the signal leaves the "caught" set of
    ``/proc/<make>/status``, which is what this watches (Linux only; elsewhere it does nothing).
    Returns the watching thread, or None when the parent is not make.
    """
    parent = os.getppid()
    if _process_name(parent) not in _MAKE_NAMES:
        return None
    caught = _caught_signals(parent)
    watched = {s for s in _MAKE_STOP_SIGNALS if caught is not None and int(s) in caught}
    if not watched:
        return None

    def watch() -> None:
        while not stop.wait(_PARENT_POLL_SECONDS):
            now = _caught_signals(parent)
            if now is None or os.getppid() != parent or any(int(s) not in now for s in watched):
                stop.set()  # make is stopping (or gone): stop the pipeline as Ctrl-C would
                return

    thread = threading.Thread(target=watch, name="stop-with-make", daemon=True)
    thread.start()
    return thread


def _process_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _caught_signals(pid: int) -> set[int] | None:
    """The signal numbers ``pid`` has a handler for (SigCgt), or None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                mask = int(line.split()[1], 16)
                return {number for number in range(1, 65) if mask >> (number - 1) & 1}
    except (OSError, ValueError):
        return None
    return None
