"""Which hosts a webhook may reach (``NEWSFLOW_WEBHOOK_ALLOWED_HOSTS``), checked on create and before each POST.

The host is compared as written in the URL, never resolved: an allowed name is the operator's
choice, and a literal address outside the list (a metadata service, a database) is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def allowed_host(url: str, allowed: Sequence[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host in {entry.lower().strip("[]").rstrip(".") for entry in allowed}


def refusal(url: str, allowed: Sequence[str]) -> str:
    """The sentence a refused URL gets: what was refused and how to allow it."""
    host = urlsplit(url).hostname or ""
    listed = ", ".join(allowed) if allowed else "none"
    return (
        f"host {host!r} is not in the webhook allow-list ({listed}); an operator can add it to "
        "NEWSFLOW_WEBHOOK_ALLOWED_HOSTS"
    )
