"""The dashboard's arithmetic: readings from real expositions, reset-aware increases, windows and quantiles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from services.api.dashboard.attention import pipeline_attention
from services.api.dashboard.figures import build_charts, build_window_totals, histogram_quantile
from services.api.dashboard.history import History, Snapshot
from services.api.dashboard.keep import history_file
from services.api.dashboard.readings import reduce_samples
from services.api.dashboard.sampler import HISTORY_SECONDS, Sampler
from services.api.dashboard.scrape import Scrape, parse_exposition
from services.api.dashboard.targets import Target, discover_targets
from shared.config import Settings

E2E_BUCKETS = (0.5, 1, 2, 5)


class FakeEndpoint:
    """A registry holding a few real newsflow series (of several services), exposed as a process would."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stored = Counter("newsflow_store_upserts_total", "", ["table"], registry=self.registry)
        self.outcome = Counter("newsflow_enrich_outcome_total", "", ["outcome"], registry=self.registry)
        self.backlog = Gauge("newsflow_ingest_inbox_backlog_files", "", registry=self.registry)
        self.e2e = Histogram(
            "newsflow_store_end_to_end_seconds", "", ["origin"], buckets=E2E_BUCKETS, registry=self.registry
        )
        self.requests = Counter(
            "newsflow_store_api_requests_total", "", ["route", "method", "status"], registry=self.registry
        )

    def reading(self) -> dict[str, float]:
        return reduce_samples(parse_exposition(generate_latest(self.registry).decode()))


def test_a_reading_sums_the_series_it_charts_and_splits_by_label() -> None:
    store = FakeEndpoint()
    store.stored.labels("articles").inc(3)
    store.stored.labels("entities").inc(40)
    store.outcome.labels("reprint").inc()
    store.backlog.set(7)
    store.e2e.labels("live").observe(0.7)
    store.e2e.labels("replay").observe(90)
    store.requests.labels("/articles", "GET", "200").inc(4)
    store.requests.labels("/articles", "GET", "500").inc()
    store.requests.labels("/health", "GET", "503").inc(9)
    reading = store.reading()
    assert reading["store.articles"] == 3, "only the articles table counts as stored articles"
    assert reading["outcome.reprint"] == 1
    assert reading["inbox.backlog"] == 7
    assert reading["e2e.le.0.5"] == 0 and reading["e2e.le.1.0"] == 1 and reading["e2e.le.+Inf"] == 1, "live only"
    assert reading["e2e_catchup.le.5.0"] == 0 and reading["e2e_catchup.le.+Inf"] == 1, "a replay is timed apart"
    assert reading["api.requests"] == 14
    assert reading["api.errors"] == 1, "a 503 from the /health probe is not a failed request"


@pytest.mark.parametrize(("quantile", "expected"), [(0.5, 1.25), (0.25, 0.625), (0.9, 3.5), (0.99, 4.85)])
def test_quantiles_interpolate_inside_buckets_like_prometheus(quantile: float, expected: float) -> None:
    # 10 observations: 2 in (0, 0.5], 2 in (0.5, 1], 4 in (1, 2], 2 in (2, 5]. The median's rank 5
    # falls in (1, 2], one of its four: 1 + (2 - 1) * 1/4 = 1.25, as histogram_quantile() answers.
    increases = {"e2e.le.0.5": 2, "e2e.le.1": 4, "e2e.le.2": 8, "e2e.le.5": 10, "e2e.le.+Inf": 10}
    assert histogram_quantile(quantile, increases, "e2e.le") == pytest.approx(expected)


def test_a_quantile_beyond_the_last_bound_is_the_last_finite_bound() -> None:
    increases = {"e2e.le.1": 1, "e2e.le.+Inf": 10}
    assert histogram_quantile(0.9, increases, "e2e.le") == 1.0
    assert histogram_quantile(0.5, {"e2e.le.1": 0, "e2e.le.+Inf": 0}, "e2e.le") is None, "no observation"


def test_rates_survive_a_restart_and_gaps_are_not_zeros() -> None:
    history = History(keep_seconds=600)
    history.add(Snapshot(0, {"a": {"store.articles": 100}}))
    history.add(Snapshot(10, {"a": {"store.articles": 110}}))
    history.add(Snapshot(20, {"a": {"store.articles": 4}}))  # restarted: 4 new since
    history.add(Snapshot(500, {"a": {"store.articles": 6}}))  # long gap: nobody sampled
    charts = build_charts(history, window_seconds=30)
    assert charts.throughput["store"] == [None, pytest.approx(1.0), pytest.approx(0.7), None]
    totals = build_window_totals(history)
    assert totals.seconds == 500


def test_an_endpoint_appearing_contributes_from_its_next_sample() -> None:
    history = History(keep_seconds=600)
    history.add(Snapshot(0, {"a": {"enrich.articles": 5}}))
    history.add(Snapshot(5, {"a": {"enrich.articles": 5}, "b": {"enrich.articles": 50}}))
    history.add(Snapshot(10, {"a": {"enrich.articles": 6}, "b": {"enrich.articles": 52}}))
    assert build_charts(history).throughput["enrich"] == [None, 0.0, pytest.approx(0.3)]


def test_gauges_sum_lag_over_replicas_but_not_the_shared_inbox() -> None:
    history = History(keep_seconds=600)
    history.add(
        Snapshot(
            0,
            {
                "e1": {"lag.newsflow-enrich": 3},
                "e2": {"lag.newsflow-enrich": 4},
                "i1": {"inbox.backlog": 9},
                "i2": {"inbox.backlog": 8},
            },
        )
    )
    charts = build_charts(history)
    assert charts.lag == {"newsflow-enrich": [7]}
    assert charts.inbox_backlog_files == [9]


def test_history_keeps_only_its_window() -> None:
    history = History(keep_seconds=60)
    for second in range(0, 200, 5):
        history.add(Snapshot(second, {"a": {"store.articles": second}}))
    assert history.snapshots[0].at >= 195 - 60
    assert len(history.snapshots) == len(history.cumulative)
    assert history.increase(0, len(history.snapshots) - 1)["store.articles"] == pytest.approx(60)


def test_targets_come_from_the_run_file_without_the_api_itself(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_port=8123, metrics_targets=["ignored:1"])
    (tmp_path / "prometheus_targets.json").write_text(
        json.dumps(
            [
                {"targets": ["127.0.0.1:9101"], "labels": {"service": "ingest"}},
                {"targets": ["127.0.0.1:9103"], "labels": {"service": "store"}},
                {"targets": ["127.0.0.1:8123"], "labels": {"service": "api"}},
                {"targets": ["127.0.0.1:9102"], "labels": {"service": "enrich", "replica": "enrich"}},
            ]
        )
    )
    assert discover_targets(settings) == [
        Target("127.0.0.1:9102", "enrich", "enrich"),
        Target("127.0.0.1:9101", "ingest"),
        Target("127.0.0.1:9103", "store"),
    ]


def test_targets_fall_back_to_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_METRICS_TARGETS", "ingest:9101, enrich:9102")
    settings = Settings(data_dir=tmp_path)
    assert [t.address for t in discover_targets(settings)] == ["enrich:9102", "ingest:9101"]


def test_an_unreadable_targets_file_leaves_the_store_alone(tmp_path: Path) -> None:
    (tmp_path / "prometheus_targets.json").write_text("{not json")
    assert discover_targets(Settings(data_dir=tmp_path)) == []


def test_the_sampler_reports_each_service_and_names_one_that_is_down(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics_targets=["127.0.0.1:1", "127.0.0.1:2"])
    ingest = CollectorRegistry()
    Gauge("newsflow_ingest_inbox_backlog_files", "", registry=ingest).set(2)
    answers = {
        "127.0.0.1:1": Scrape(parse_exposition(generate_latest(ingest).decode())),
        "127.0.0.1:2": Scrape(error="http://127.0.0.1:2/metrics: Connection refused"),
    }
    now = [1000.0]
    sampler = Sampler(settings, clock=lambda: now[0], scrape_remote=answers.__getitem__)
    sampler.sample_if_due()
    sampler.sample_if_due()  # too soon: shared with the previous one
    now[0] += sampler.interval_seconds
    sampler.sample_if_due()
    charts, _, statuses = sampler.view()
    assert len(charts.times_ms) == 2
    assert charts.inbox_backlog_files == [2, 2]
    by_address = {status.address: status for status in statuses}
    assert by_address["127.0.0.1:1"].up and by_address["127.0.0.1:1"].service == "ingest", "told by its metrics"
    assert not by_address["127.0.0.1:2"].up and "refused" in (by_address["127.0.0.1:2"].error or "")
    assert math.isclose(charts.times_ms[1] - charts.times_ms[0], sampler.interval_seconds * 1000)


def test_the_live_latency_is_not_moved_by_a_replay_of_old_files() -> None:
    """Issue 25: after a replay the p95 tile read 87 s while fresh drops took 1.4 s."""
    store = FakeEndpoint()
    history = History(keep_seconds=600)
    history.add(Snapshot(0, {"s": store.reading()}))
    for _ in range(5):
        store.e2e.labels("live").observe(1.4)
    for _ in range(50):
        store.e2e.labels("replay").observe(87)  # timed from the files' first arrival
    history.add(Snapshot(5, {"s": store.reading()}))
    charts = build_charts(history)
    assert charts.latency_seconds["p95"][-1] is not None and charts.latency_seconds["p95"][-1] <= 2
    assert charts.catchup_p95_seconds[-1] == 5.0, "the replay shows apart (beyond the last bound: 5 s here)"


def test_the_reprint_rate_leaves_out_articles_seen_before() -> None:
    history = History(keep_seconds=600)
    history.add(Snapshot(0, {"e": {"outcome.original": 0, "outcome.reprint": 0, "outcome.seen_before": 0}}))
    history.add(Snapshot(5, {"e": {"outcome.original": 3, "outcome.reprint": 1, "outcome.seen_before": 40}}))
    assert build_charts(history).reprint_rate[-1] == pytest.approx(0.25)


def test_stuck_and_quarantined_files_are_charted_and_need_attention(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics_targets=["127.0.0.1:1"])
    ingest = CollectorRegistry()
    Gauge("newsflow_ingest_claimed_files", "", registry=ingest).set(3)
    Gauge("newsflow_ingest_oldest_claim_age_seconds", "", registry=ingest).set(42)
    Gauge("newsflow_ingest_stuck_files", "", registry=ingest).set(1)
    Gauge("newsflow_ingest_quarantined_files", "", registry=ingest).set(2)
    answer = Scrape(parse_exposition(generate_latest(ingest).decode()))
    sampler = Sampler(settings, scrape_remote=lambda _address: answer)
    sampler.sample_if_due()
    charts, _, _ = sampler.view()
    assert (charts.claimed_files, charts.oldest_claim_age_seconds) == ([3], [42])
    assert (charts.stuck_files, charts.quarantined_files) == ([1], [2])
    reasons = pipeline_attention(sampler)
    assert len(reasons) == 2
    assert "2 file(s) quarantined" in reasons[0]
    assert "1 file(s) stuck" in reasons[1] and "42 s ago" in reasons[1]


def test_the_history_is_kept_across_a_restart_of_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics_targets=["127.0.0.1:1"])
    ingest = CollectorRegistry()
    published = Counter("newsflow_ingest_articles_published_total", "", registry=ingest)
    now = [1000.0]

    def scrape(_address: str) -> Scrape:
        return Scrape(parse_exposition(generate_latest(ingest).decode()))

    before = Sampler(settings, clock=lambda: now[0], scrape_remote=scrape)
    for _ in range(4):
        published.inc(10)
        before.sample_if_due()
        now[0] += before.interval_seconds
    before.save()
    assert before.history_kept and history_file(tmp_path).is_file()

    now[0] += 60  # the store is down for a minute
    after = Sampler(settings, clock=lambda: now[0], scrape_remote=scrape)
    after.restore()
    published.inc(10)
    after.sample_if_due()
    charts, _, _ = after.view()
    assert len(charts.times_ms) == 5, "the four snapshots from before the restart, and the new one"
    assert charts.throughput["ingest"][1:4] == [pytest.approx(2.0)] * 3

    now[0] += HISTORY_SECONDS
    much_later = Sampler(settings, clock=lambda: now[0])
    much_later.restore()
    assert not much_later.history.snapshots, "only what is inside the kept window comes back"


def test_an_unwritable_data_dir_says_the_history_is_not_kept(tmp_path: Path) -> None:
    sampler = Sampler(Settings(data_dir=tmp_path / "missing"))
    sampler.sample_if_due()
    sampler.save()
    assert not sampler.history_kept
