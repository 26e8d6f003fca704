"""Who may read the API, in one line: said by the API at start-up and in ``newsflow run``'s banner.

Kept free of the web stack so the supervisor can say it without importing the API.
"""

from __future__ import annotations

import ipaddress

from shared.config import Settings


def api_access(settings: Settings) -> tuple[str, bool]:
    """The line, and whether the API is open to the network without keys (then it is a warning)."""
    if settings.api_keys:
        return f"API keys required ({len(settings.api_keys)} configured; /health and /metrics stay open)", False
    if _is_loopback(settings.api_host):
        return (
            f"API keys off: the API listens on {settings.api_host} only (set NEWSFLOW_API_KEYS to require one)",
            False,
        )
    return (
        f"API keys off and the API listens on {settings.api_host}: anyone who reaches this port reads the archive; "
        "set NEWSFLOW_API_KEYS (see the Security section of docs/operations.md)",
        True,
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
