"""Reading one Prometheus text exposition: over HTTP from another service, or from this process's registry."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import metrics_registry

# A local endpoint answers in milliseconds; one that takes longer is reported down rather than
# holding up the page (every target is read in turn).
SCRAPE_TIMEOUT_SECONDS = 1.0
# A metrics page is a few hundred lines; anything far bigger is not one of ours.
MAX_EXPOSITION_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Scrape:
    """The samples of one endpoint, or why there are none."""

    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    @property
    def up(self) -> bool:
        return self.error is None


def parse_exposition(text: str) -> list[Sample]:
    return [
        Sample(sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def scrape_http(address: str, timeout_seconds: float = SCRAPE_TIMEOUT_SECONDS) -> Scrape:
    url = f"http://{address}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            body = response.read(MAX_EXPOSITION_BYTES + 1)
    except (OSError, urllib.error.URLError) as exc:
        return Scrape(error=f"{url}: {getattr(exc, 'reason', None) or exc}")
    if len(body) > MAX_EXPOSITION_BYTES:
        return Scrape(error=f"{url}: more than {MAX_EXPOSITION_BYTES} bytes, not a newsflow metrics page")
    try:
        return Scrape(parse_exposition(body.decode("utf-8", errors="replace")))
    except ValueError as exc:
        return Scrape(error=f"{url}: not Prometheus text format ({exc})")


def scrape_self() -> Scrape:
    return Scrape(parse_exposition(generate_latest(metrics_registry()).decode("utf-8")))
