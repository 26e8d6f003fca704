"""Where the other services' metrics endpoints are: the run's file_sd targets file, else a setting.

``newsflow run`` writes ``$NEWSFLOW_DATA_DIR/prometheus_targets.json`` (Prometheus file_sd
format) and rewrites it when a service restarts on a new port, so it is re-read at every sample.
Without it (docker-compose, services started by hand) ``NEWSFLOW_METRICS_TARGETS`` lists
``host:port`` addresses (the store's among them: ``/health`` reads its consumers' states). The
API itself is never scraped over HTTP: its own registry is read in-process, so the page works
even before the API port answers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings

log = logging.getLogger(__name__)

TARGETS_FILE_NAME = "prometheus_targets.json"
SELF = "api"


@dataclass(frozen=True)
class Target:
    """One metrics endpoint; ``service`` is None when only its address is known (it is inferred later)."""

    address: str
    service: str | None = None
    replica: str | None = None

    @property
    def key(self) -> str:
        return self.address


def targets_file(settings: Settings) -> Path:
    return settings.data_dir / TARGETS_FILE_NAME


def discover_targets(settings: Settings) -> list[Target]:
    """The endpoints to scrape besides this process, in a stable order."""
    own_address = f"{settings.api_host}:{settings.api_port}"
    path = targets_file(settings)
    found: list[Target] = []
    if path.is_file():
        found = _from_file_sd(path)
    else:
        found = [Target(address.strip()) for address in settings.metrics_targets if address.strip()]
    # The API is read in-process; scraping our own port would only count it twice.
    unique = {target.address: target for target in found if target.address != own_address}
    return sorted(unique.values(), key=lambda target: (target.service or "~", target.address))


def _from_file_sd(path: Path) -> list[Target]:
    try:
        groups = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning(
            "metrics targets file unreadable; the dashboard shows this process only",
            extra={"path": str(path), "error": str(exc)},
        )
        return []
    found: list[Target] = []
    for group in groups if isinstance(groups, list) else []:
        labels = group.get("labels", {}) if isinstance(group, dict) else {}
        for address in group.get("targets", []) if isinstance(group, dict) else []:
            found.append(Target(str(address), labels.get("service"), labels.get("replica")))
    return found
