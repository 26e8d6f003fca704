"""Container health probe of the newsflow image: does this container's service answer over HTTP?

One image runs every service, so the probe works out which one this container runs from the
command line of PID 1 (``newsflow ingest``, or ``docker-init -- newsflow ingest`` with
``init: true``) unless a service name is given as the first argument. It then asks the endpoint
that service serves, on the port the settings say (the same ``NEWSFLOW_*`` variables the service
reads, so a changed port needs no change here):

- ``api`` and ``run``: ``/health`` on ``NEWSFLOW_API_PORT`` (200 only when the database is ready
  and the store's consumers run);
- ``store``: ``/health`` on ``NEWSFLOW_STORE_METRICS_PORT`` (200 once its articles consumer runs);
- ``ingest`` and ``enrich``: ``/metrics`` on ``NEWSFLOW_INGEST_METRICS_PORT`` / ``..._ENRICH_...``.

One-shot commands (``migrate``, ``ingest --once``) have nothing to probe and count as healthy.
Exit status 0 means healthy, 1 unhealthy; the one line printed is what ``docker inspect`` shows.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings

# Docker's own --timeout (Dockerfile HEALTHCHECK) is 5 s; answer before it kills the probe.
PROBE_TIMEOUT_SECONDS = 3.0
PID1_CMDLINE = Path("/proc/1/cmdline")
SERVICES_WITH_ENDPOINT = ("ingest", "enrich", "store", "api", "run")
ONE_SHOT_COMMANDS = ("migrate",)
# A wildcard bind address is reachable on loopback from inside the container.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


@dataclass(frozen=True)
class Probe:
    """What to ask: a URL, or nothing (``url is None``) for a one-shot command."""

    service: str
    url: str | None


def service_from_argv(argv: Sequence[str]) -> str | None:
    """The newsflow subcommand in a command line, or None when it runs no newsflow subcommand."""
    known = (*SERVICES_WITH_ENDPOINT, *ONE_SHOT_COMMANDS)
    for index, arg in enumerate(argv):
        if Path(arg).name == "newsflow" or arg == "services.cli":
            rest = [a for a in argv[index + 1 :] if not a.startswith("-")]
            return rest[0] if rest and rest[0] in known else None
    return None


def read_pid1_argv(path: Path = PID1_CMDLINE) -> list[str]:
    raw = path.read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def probe_for(service: str, argv: Sequence[str], settings: Settings) -> Probe:
    """The endpoint that tells whether ``service`` is healthy under these settings."""
    if service in ONE_SHOT_COMMANDS or (service == "ingest" and "--once" in argv):
        return Probe(service, None)
    if service in ("api", "run"):
        return Probe(service, f"http://{_url_host(settings.api_host)}:{settings.api_port}/health")
    if service == "store":
        return Probe(service, f"http://{_url_host(settings.metrics_host)}:{settings.store_metrics_port}/health")
    if service == "ingest":
        return Probe(service, f"http://{_url_host(settings.metrics_host)}:{settings.ingest_metrics_port}/metrics")
    if service == "enrich":
        return Probe(service, f"http://{_url_host(settings.metrics_host)}:{settings.enrich_metrics_port}/metrics")
    raise ValueError(f"unknown service {service!r}: expected one of {', '.join(SERVICES_WITH_ENDPOINT)}")


def check(probe: Probe, timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    if probe.url is None:
        return True, f"{probe.service}: one-shot command, nothing to probe"
    try:
        with urllib.request.urlopen(probe.url, timeout=timeout_seconds) as response:
            return response.status == 200, f"{probe.service}: {probe.url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        # /health answers 503 with the reason in its body; show it.
        detail = exc.read(300).decode(errors="replace").strip()
        return False, f"{probe.service}: {probe.url} answered {exc.code} {detail}".rstrip()
    except (OSError, ValueError) as exc:
        return False, f"{probe.service}: {probe.url} did not answer: {exc}"


def main(args: Sequence[str]) -> int:
    argv = read_pid1_argv() if PID1_CMDLINE.exists() else []
    service = args[0] if args else service_from_argv(argv)
    if service is None:
        print(f"cannot tell which newsflow service runs here (PID 1: {' '.join(argv)!r}); pass it as an argument")
        return 1
    try:
        probe = probe_for(service, argv, Settings())
    except ValueError as exc:
        print(exc)
        return 1
    healthy, message = check(probe)
    print(message)
    return 0 if healthy else 1


def _url_host(bind_host: str) -> str:
    host = _WILDCARD_HOSTS.get(bind_host, bind_host)
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
