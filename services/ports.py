"""Choosing the ports of ``newsflow run``'s services, at start and at every restart.

A port the user chose (its variable is set) is used as given: when another program holds it,
``newsflow run`` stops at once and says which port, which variable, and who holds it when that
can be found out (Linux: ``/proc``). A default port that is taken is replaced by a free one, and
said so in one line. A service keeps its port across restarts; only when another program took
it meanwhile does it get a new one (and the targets file and ``run.json`` follow).

Checking a port and a child binding it are two steps: another program may take the port in
between. The child then fails to bind and exits; the supervisor restarts it, and the check at
that restart finds the port taken and picks another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.embedded import free_port, port_is_free

_PROC_NET: Final = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_LISTEN: Final = "0A"
_MAX_COMMAND_CHARS: Final = 80


class PortTaken(RuntimeError):
    """A port the user chose is held by another program; the message says what to do."""


@dataclass
class ServicePort:
    """One listening port of a supervised service: what was asked for and what it uses now."""

    service: str
    variable: str
    wanted: int
    explicit: bool
    host: str
    current: int | None = None

    def choose(self, fallback: int | None = None) -> str | None:
        """Set ``current`` for the next start; a one-line note when the port is not the one wanted.

        ``current`` is kept while it is free. Otherwise an explicit port raises :class:`PortTaken`;
        a default one becomes ``fallback`` (the port a previous run used), if free, or any free port.
        """
        if self.current is not None and port_is_free(self.current, self.host):
            return None
        taken = self.current if self.current is not None else self.wanted
        if self.current is None and port_is_free(self.wanted, self.host):
            self.current = self.wanted
            return None
        if self.explicit:
            raise PortTaken(
                f"port {taken} ({self.variable}={self.wanted}, {self.service}) is taken{held_by_text(taken)}: "
                f"stop that program, choose another port, or unset {self.variable} to let newsflow pick a free one."
            )
        previous = self.current
        self.current = fallback if fallback and fallback != taken and port_is_free(fallback, self.host) else None
        self.current = self.current or free_port(self.host)
        if previous is None:
            return f"{self.service}: port {taken} is taken{held_by_text(taken)}; using {self.current} instead."
        return f"{self.service}: port {taken} was taken{held_by_text(taken)} while it restarted; now on {self.current}."


def held_by_text(port: int) -> str:
    holder = port_holder(port)
    return f" by {holder}" if holder else ""


def port_holder(port: int) -> str | None:
    """``pid N (command line)`` of the process listening on ``port``, when ``/proc`` tells (Linux, same user)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    try:
        pids = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone, or another user's
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return f"pid {pid} ({_command(pid)})"
    return None


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in _PROC_NET:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _command(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return command if len(command) <= _MAX_COMMAND_CHARS else command[:_MAX_COMMAND_CHARS] + "…"
