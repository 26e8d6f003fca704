"""How ``/health`` turns the store's metrics into consumer states (``services.api.consumers``), without HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from services.api.consumers import store_consumers
from services.api.dashboard.sampler import Sampler
from services.api.dashboard.scrape import Sample, Scrape
from shared.config import Settings

_STATE = "newsflow_store_consumer_state"


def _sampler(tmp_path: Path, scrapes: dict[str, Scrape]) -> Sampler:
    """A sampler reading the run's targets file, each address answering with its scrape."""
    targets = [{"targets": [address], "labels": {"service": "store"}} for address in scrapes]
    (tmp_path / "prometheus_targets.json").write_text(json.dumps(targets))
    return Sampler(Settings(data_dir=tmp_path), scrape_remote=lambda address: scrapes[address])


def _states(**states: str) -> Scrape:
    return Scrape(
        [
            Sample(_STATE, {"consumer": consumer, "state": state}, 1.0 if state == current else 0.0)
            for consumer, current in states.items()
            for state in ("starting", "ok", "degraded", "stopped")
        ]
    )


def test_a_labelled_store_that_does_not_answer_is_named(tmp_path: Path) -> None:
    sampler = _sampler(tmp_path, {"127.0.0.1:9103": Scrape(error="http://127.0.0.1:9103/metrics: refused")})
    consumers, problems = store_consumers(sampler)
    assert consumers == {}
    assert problems == [
        "store: not reachable, its consumers' states are unknown (http://127.0.0.1:9103/metrics: refused)"
    ]


def test_the_articles_consumer_comes_first_and_the_worse_of_two_replicas_counts(tmp_path: Path) -> None:
    sampler = _sampler(
        tmp_path,
        {
            "127.0.0.1:9103": _states(dead_letters="ok", articles="ok"),
            "127.0.0.1:9104": _states(dead_letters="starting", articles="degraded"),
        },
    )
    consumers, problems = store_consumers(sampler)
    assert list(consumers) == ["articles", "dead_letters"]
    assert consumers["articles"].state == "degraded" and "store's own /health" in consumers["articles"].detail
    assert consumers["dead_letters"].state == "starting"
    assert problems == [f"consumer articles is degraded: {consumers['articles'].detail}"], (
        "starting is no problem but for articles"
    )


def test_no_store_to_read_is_no_problem(tmp_path: Path) -> None:
    assert store_consumers(Sampler(Settings(data_dir=tmp_path))) == ({}, [])
    assert store_consumers(None) == ({}, [])
