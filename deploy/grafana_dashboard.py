"""Writes grafana/dashboards/newsflow-pipeline.json, the provisioned dashboard (``python -m deploy.grafana_dashboard``).

The dashboard is generated so that every panel is built the same way: one data source (uid
``prometheus``), a unit on every panel, the template variables (service, instance, replica,
topic, consumer group) applied where they mean something, and annotations for process starts
(deploys, restarts) and consumer rebalances. ``tests/deploy/test_grafana.py`` checks the file is
what this module writes; ``tests/metrics/test_prometheus_dashboard.py`` runs every expression
against a Prometheus scraping a live ``newsflow run``.

Panels titled "(kafka_exporter)" or "(postgres_exporter)" read those exporters, which the
docker-compose stack runs; without them (``newsflow run`` alone) they show "no data".
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

OUTPUT: Final = Path(__file__).resolve().parent.parent / "grafana" / "dashboards" / "newsflow-pipeline.json"
DATASOURCE: Final = {"type": "prometheus", "uid": "prometheus"}
RATE: Final = "$__rate_interval"
RANGE: Final = "$__range"
# The newsflow services' own series (not an exporter's, not Prometheus' own).
NEWSFLOW: Final = 'job=~"newsflow.*"'
# One process of one service: what the per-replica panels filter on.
PROCESS: Final = f'{NEWSFLOW}, service=~"$service", instance=~"$instance", replica=~"$replica"'
TOPIC: Final = 'topic=~"$topic"'
GROUP: Final = 'group=~"$group"'
USER_DATABASES: Final = 'datname!~"template.*"'
PANEL_WIDTH: Final = 24


@dataclass
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass
class Panel:
    title: str
    kind: str  # timeseries | stat | bargauge
    unit: str
    targets: list[Target]
    description: str
    width: int = 12
    height: int = 8
    min: float | None = 0
    extra_defaults: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _unit(text: str) -> str:
    """A Grafana custom unit: the number followed by ``text``."""
    return f"suffix: {text}"


def _up_mappings() -> dict[str, Any]:
    return {
        "mappings": [
            {"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}
        ],
        "thresholds": {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
        "max": 1,
        "decimals": 0,
    }


def _alert_when_above_zero() -> dict[str, Any]:
    return {
        "decimals": 0,
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]},
    }


def _quantiles(metric: str, selector: str, legend: str, by: str = "le") -> list[Target]:
    return [
        Target(
            f"histogram_quantile({q}, sum by ({by}) (rate({metric}_bucket{{{selector}}}[{RATE}])))",
            f"{legend}p{q[2:].ljust(2, '0')}",
        )
        for q in ("0.50", "0.95", "0.99")
    ]


# --- the panels, row by row ------------------------------------------------------------------------
def overview() -> list[Panel]:
    return [
        Panel(
            "Services up",
            "stat",
            "none",
            [Target(f"up{{{NEWSFLOW}}}", "{{service}} {{replica}} {{instance}}")],
            "1 when Prometheus could scrape the service's /metrics endpoint.",
            width=8,
            height=5,
            extra_defaults=_up_mappings(),
            options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"},
        ),
        Panel(
            "Articles stored (time range)",
            "stat",
            _unit("articles"),
            [Target(f'sum(increase(newsflow_store_upserts_total{{table="articles"}}[{RANGE}]))', "articles")],
            "Articles written (new or newer versions) in the dashboard's time range.",
            width=4,
            height=5,
            extra_defaults={"decimals": 0},
        ),
        Panel(
            "Files waiting",
            "stat",
            _unit("files"),
            [
                Target(
                    "max(newsflow_ingest_inbox_backlog_files) + max(newsflow_ingest_claimed_files)",
                    "in the inbox or claimed",
                )
            ],
            "Files in the inbox not yet claimed, plus files ingest claimed and has not finished.",
            width=3,
            height=5,
            extra_defaults={"decimals": 0},
        ),
        Panel(
            "Stuck or quarantined files",
            "stat",
            _unit("files"),
            [
                Target(
                    "max(newsflow_ingest_stuck_files) + max(newsflow_ingest_quarantined_files)",
                    "stuck + quarantined",
                )
            ],
            "Files held in a claim folder past NEWSFLOW_STUCK_CLAIM_SECONDS, and files set aside in quarantine/. "
            "Above 0, the API's /health says degraded with the reason.",
            width=3,
            height=5,
            extra_defaults=_alert_when_above_zero(),
            options={"colorMode": "background", "graphMode": "none"},
        ),
        Panel(
            "End-to-end p95, live drops",
            "stat",
            "s",
            [
                Target(
                    "histogram_quantile(0.95, sum by (le) "
                    f'(rate(newsflow_store_end_to_end_seconds_bucket{{origin="live"}}[{RATE}])))',
                    "p95",
                )
            ],
            "From a file's arrival in the inbox to its article's first commit in Postgres. Backfills "
            "(ingest --once) and replays are timed apart (see End-to-end latency).",
            width=3,
            height=5,
        ),
        Panel(
            "Consumer lag",
            "stat",
            _unit("messages"),
            [Target(f"sum(newsflow_consumer_lag_messages{{{GROUP}, {TOPIC}}})", "messages")],
            "Messages on the topics not yet consumed, all consumer groups (as the consumers report it).",
            width=3,
            height=5,
            extra_defaults={"decimals": 0},
        ),
    ]


def pipeline() -> list[Panel]:
    return [
        Panel(
            "Throughput per stage",
            "timeseries",
            _unit("articles/s"),
            [
                Target(f"sum(rate(newsflow_ingest_articles_published_total[{RATE}]))", "ingest: published"),
                Target(f"sum(rate(newsflow_enrich_articles_total[{RATE}]))", "enrich: enriched"),
                Target(f'sum(rate(newsflow_store_upserts_total{{table="articles"}}[{RATE}]))', "store: committed"),
            ],
            "Per second, summed over replicas. Backfills (ingest --once) and replays count too: they hand their "
            "counts to the running ingest service.",
        ),
        Panel(
            "End-to-end latency",
            "timeseries",
            "s",
            [
                *_quantiles("newsflow_store_end_to_end_seconds", 'origin="live"', "live "),
                Target(
                    "histogram_quantile(0.95, sum by (le, origin) "
                    f'(rate(newsflow_store_end_to_end_seconds_bucket{{origin!="live"}}[{RATE}])))',
                    "{{origin}} p95",
                ),
            ],
            "File arrival to first commit. live: files dropped into the inbox; backfill: ingest --once; "
            "replay: timed from the file's first arrival, so hours or days.",
        ),
        Panel(
            "Consumer lag by group and topic",
            "timeseries",
            _unit("messages"),
            [
                Target(
                    f"sum by (group, topic) (newsflow_consumer_lag_messages{{{GROUP}, {TOPIC}}})",
                    "{{group}} ({{topic}})",
                )
            ],
            "End offset minus the consumer's position, as each consumer reports it.",
        ),
        Panel(
            "Consumer errors by kind",
            "timeseries",
            _unit("errors/s"),
            [
                Target(
                    f"sum by (group, kind) (rate(newsflow_consumer_errors_total{{{GROUP}}}[{RATE}]))",
                    "{{group}} {{kind}}",
                )
            ],
            "transient: retried (database or broker unavailable); poison and invalid_event: dead-lettered.",
        ),
        Panel(
            "Stage timings p95",
            "timeseries",
            "s",
            [
                Target(
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate(newsflow_ingest_publish_latency_seconds_bucket[{RATE}])))",
                    "ingest publish",
                ),
                Target(
                    f"histogram_quantile(0.95, sum by (le) (rate(newsflow_enrich_ner_seconds_bucket[{RATE}])))",
                    "enrich entities (batch)",
                ),
                Target(
                    f"histogram_quantile(0.95, sum by (le) (rate(newsflow_enrich_dedupe_seconds_bucket[{RATE}])))",
                    "enrich reprint decision (batch)",
                ),
                Target(
                    "histogram_quantile(0.95, sum by (le, handler) "
                    f"(rate(newsflow_store_transaction_seconds_bucket[{RATE}])))",
                    "store transaction ({{handler}})",
                ),
            ],
            "Slowest 5 % of each stage's steps.",
        ),
        Panel(
            "Consumer rebalances",
            "timeseries",
            _unit("rebalances"),
            [
                Target(
                    f"sum by (group) (increase(newsflow_consumer_rebalances_total{{{GROUP}}}[{RATE}]))",
                    "{{group}}",
                )
            ],
            "Partition assignments: a replica joining or leaving, or a consumer restarting (also annotated).",
        ),
        Panel(
            "Reprint rate",
            "timeseries",
            "percentunit",
            [
                Target(
                    f'sum(rate(newsflow_enrich_outcome_total{{outcome=~"reprint|exact_duplicate"}}[{RATE}])) / '
                    f'sum(rate(newsflow_enrich_outcome_total{{outcome!="seen_before"}}[{RATE}]))',
                    "reprints + exact duplicates",
                )
            ],
            "Share of articles enriched for the first time that copy an earlier one. Replays and redeliveries "
            "(seen_before) are left out.",
            extra_defaults={"max": 1},
        ),
        Panel(
            "Enrich outcomes",
            "timeseries",
            _unit("articles/s"),
            [
                Target(
                    f"sum by (outcome) (rate(newsflow_enrich_outcome_total[{RATE}]))",
                    "{{outcome}}",
                ),
                Target(
                    f"sum by (outcome) (rate(newsflow_enrich_story_outcome_total[{RATE}]))",
                    "story: {{outcome}}",
                ),
            ],
            "Reprint decisions (seen_before: an article enriched before, replayed or redelivered) and story "
            "decisions, per second.",
        ),
        Panel(
            "Entities tagged by type (time range)",
            "bargauge",
            _unit("tags"),
            [
                Target(
                    f"sum by (type) (increase(newsflow_enrich_entities_total[{RANGE}]))",
                    "{{type}}",
                    instant=True,
                )
            ],
            "Entity tags in articles enriched for the first time: one per article and entity. Replays and "
            "redeliveries are not counted again.",
            width=8,
            height=9,
            extra_defaults={"decimals": 0},
        ),
        Panel(
            "Rejected files by reason (time range)",
            "bargauge",
            _unit("files"),
            [
                Target(
                    f"sum by (reason) (increase(newsflow_ingest_files_rejected_total[{RANGE}]))",
                    "{{reason}}",
                    instant=True,
                )
            ],
            "Files moved to rejected/ with a reason file, backfills included.",
            width=8,
            height=9,
            extra_defaults={"decimals": 0},
        ),
        Panel(
            "Dead letters by stage (time range)",
            "bargauge",
            _unit("messages"),
            [
                Target(
                    f"sum by (stage) (increase(newsflow_dead_letters_total[{RANGE}]))",
                    "{{stage}}",
                    instant=True,
                )
            ],
            "Files and messages sent to news.dlq.v1 (ingest: rejected files and bad records).",
            width=8,
            height=9,
            extra_defaults={"decimals": 0},
        ),
    ]


def ingest() -> list[Panel]:
    return [
        Panel(
            "Files waiting, stuck and quarantined",
            "timeseries",
            _unit("files"),
            [
                Target("max(newsflow_ingest_inbox_backlog_files)", "in the inbox"),
                Target("max(newsflow_ingest_claimed_files)", "claimed by ingest"),
                Target("max(newsflow_ingest_stuck_files)", "stuck in a claim folder"),
                Target("max(newsflow_ingest_quarantined_files)", "quarantined"),
            ],
            "Every replica sees the same inbox and claim folders: the max, not a sum.",
        ),
        Panel(
            "Oldest file waiting",
            "timeseries",
            "s",
            [
                Target("max(newsflow_ingest_inbox_oldest_file_age_seconds)", "oldest in the inbox"),
                Target("max(newsflow_ingest_oldest_claim_age_seconds)", "oldest claim"),
            ],
            "A claim older than NEWSFLOW_STUCK_CLAIM_SECONDS (20 s) is reported stuck.",
        ),
        Panel(
            "Files published and rejected",
            "timeseries",
            _unit("files/s"),
            [
                Target(
                    f"sum by (content_type) (rate(newsflow_ingest_files_published_total[{RATE}]))",
                    "published: {{content_type}}",
                ),
                Target(f"sum(rate(newsflow_ingest_files_rejected_total[{RATE}]))", "rejected"),
                Target(f"sum(rate(newsflow_ingest_publish_retries_total[{RATE}]))", "left claimed to retry"),
            ],
            "Per second, backfills and replays included.",
        ),
        Panel(
            "Bytes read from dropped files",
            "timeseries",
            "Bps",
            [Target(f"sum(rate(newsflow_ingest_bytes_total[{RATE}]))", "read")],
            "Bytes of the files ingest read, as dropped (before any .gz is inflated).",
        ),
    ]


def broker() -> list[Panel]:
    exporter = " (kafka_exporter)"
    return [
        Panel(
            "Messages in per topic",
            "timeseries",
            _unit("messages/s"),
            [
                Target(
                    f"sum by (topic) (rate(newsflow_kafka_produced_messages_total{{{TOPIC}}}[{RATE}]))",
                    "{{topic}}",
                )
            ],
            "Messages newsflow's services and commands sent to the broker, per topic (any broker, the embedded "
            "one too).",
            width=8,
        ),
        Panel(
            "Bytes in and out per topic",
            "timeseries",
            "Bps",
            [
                Target(
                    f"sum by (topic) (rate(newsflow_kafka_produced_bytes_total{{{TOPIC}}}[{RATE}]))",
                    "{{topic}} in",
                ),
                Target(
                    f"sum by (topic, group) (rate(newsflow_kafka_consumed_bytes_total{{{TOPIC}, {GROUP}}}[{RATE}]))",
                    "{{topic}} out to {{group}}",
                ),
            ],
            "Keys and values sent to the broker (in) and fetched by each consumer group (out).",
            width=8,
        ),
        Panel(
            "Brokers" + exporter,
            "stat",
            _unit("brokers"),
            [Target("kafka_brokers", "brokers")],
            "Brokers in the cluster as kafka_exporter sees it (docker-compose; no exporter runs with newsflow run).",
            width=4,
            extra_defaults={
                "decimals": 0,
                "thresholds": {
                    "mode": "absolute",
                    "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}],
                },
            },
        ),
        Panel(
            "Under-replicated partitions" + exporter,
            "stat",
            _unit("partitions"),
            [Target(f"sum(kafka_topic_partition_under_replicated_partition{{{TOPIC}}})", "under-replicated")],
            "Partitions with fewer in-sync replicas than configured.",
            width=4,
            extra_defaults=_alert_when_above_zero(),
        ),
        Panel(
            "Partitions per topic" + exporter,
            "bargauge",
            _unit("partitions"),
            [Target(f"sum by (topic) (kafka_topic_partitions{{{TOPIC}}})", "{{topic}}", instant=True)],
            "The most replicas of a consumer group that can work at once.",
            width=6,
            extra_defaults={"decimals": 0},
        ),
        Panel(
            "Messages in per topic, broker offsets" + exporter,
            "timeseries",
            _unit("messages/s"),
            [
                Target(
                    f"sum by (topic) (rate(kafka_topic_partition_current_offset{{{TOPIC}}}[{RATE}]))",
                    "{{topic}}",
                )
            ],
            "How fast each topic's end offsets move, from any producer.",
            width=6,
        ),
        Panel(
            "Consumer-group lag, broker's view" + exporter,
            "timeseries",
            _unit("messages"),
            [
                Target(
                    f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{consumergroup=~"$group", {TOPIC}}})',
                    "{{consumergroup}} ({{topic}})",
                )
            ],
            "Lag from the committed offsets: it stays visible when a consumer is down and cannot report its own.",
            width=6,
        ),
        Panel(
            "Consumer-group members" + exporter,
            "timeseries",
            _unit("members"),
            [
                Target(
                    'sum by (consumergroup) (kafka_consumergroup_members{consumergroup=~"$group"})',
                    "{{consumergroup}}",
                )
            ],
            "Replicas in each group; more members than partitions wait as standbys.",
            width=6,
        ),
    ]


def read_api() -> list[Panel]:
    not_probe = 'route!="/health"'
    return [
        Panel(
            "API requests by route",
            "timeseries",
            "reqps",
            [
                Target(
                    f"sum by (route) (rate(newsflow_store_api_requests_total[{RATE}]))",
                    "{{route}}",
                )
            ],
            "Read API requests per second, by route template.",
            width=8,
        ),
        Panel(
            "API errors",
            "timeseries",
            "percentunit",
            [
                Target(
                    f'(sum(rate(newsflow_store_api_requests_total{{status=~"5..", {not_probe}}}[{RATE}])) or vector(0))'
                    f" / sum(rate(newsflow_store_api_requests_total[{RATE}]))",
                    "5xx share",
                ),
                Target(
                    f'(sum(rate(newsflow_store_api_requests_total{{status=~"4..", {not_probe}}}[{RATE}])) or vector(0))'
                    f" / sum(rate(newsflow_store_api_requests_total[{RATE}]))",
                    "4xx share",
                ),
            ],
            "Share of requests answered 5xx or 4xx; the /health probe's 503s are left out.",
            width=8,
        ),
        Panel(
            "API latency",
            "timeseries",
            "s",
            _quantiles("newsflow_store_api_request_seconds", not_probe, ""),
            "Read API request latency, every route but /health.",
            width=8,
        ),
    ]


def database() -> list[Panel]:
    exporter = " (postgres_exporter)"
    return [
        Panel(
            "Postgres up" + exporter,
            "stat",
            "none",
            [Target("pg_up", "{{instance}}")],
            "1 when postgres_exporter can query Postgres.",
            width=4,
            extra_defaults=_up_mappings(),
            options={"colorMode": "background", "graphMode": "none"},
        ),
        Panel(
            "Connections" + exporter,
            "timeseries",
            _unit("connections"),
            [Target(f"sum by (datname) (pg_stat_database_numbackends{{{USER_DATABASES}}})", "{{datname}}")],
            "Open connections per database (the store's pools, enrich's index, the read API).",
            width=5,
        ),
        Panel(
            "Transactions" + exporter,
            "timeseries",
            _unit("tx/s"),
            [
                Target(
                    f"sum by (datname) (rate(pg_stat_database_xact_commit{{{USER_DATABASES}}}[{RATE}]))",
                    "{{datname}} commits",
                ),
                Target(
                    f"sum by (datname) (rate(pg_stat_database_xact_rollback{{{USER_DATABASES}}}[{RATE}]))",
                    "{{datname}} rollbacks",
                ),
            ],
            "Committed and rolled-back transactions per second.",
            width=5,
        ),
        Panel(
            "Rows written and read" + exporter,
            "timeseries",
            _unit("rows/s"),
            [
                Target(
                    f"sum(rate(pg_stat_database_tup_{what}{{{USER_DATABASES}}}[{RATE}]))",
                    what,
                )
                for what in ("inserted", "updated", "deleted", "fetched")
            ],
            "Rows per second, all databases.",
            width=5,
        ),
        Panel(
            "Database size" + exporter,
            "timeseries",
            "bytes",
            [Target(f"sum by (datname) (pg_database_size_bytes{{{USER_DATABASES}}})", "{{datname}}")],
            "On-disk size of each database.",
            width=5,
        ),
        Panel(
            "Cache hit ratio" + exporter,
            "timeseries",
            "percentunit",
            [
                Target(
                    f"sum(rate(pg_stat_database_blks_hit{{{USER_DATABASES}}}[{RATE}])) / "
                    f"(sum(rate(pg_stat_database_blks_hit{{{USER_DATABASES}}}[{RATE}])) + "
                    f"sum(rate(pg_stat_database_blks_read{{{USER_DATABASES}}}[{RATE}])))",
                    "blocks found in shared buffers",
                )
            ],
            "Share of block reads served from Postgres's shared buffers.",
            width=8,
            extra_defaults={"max": 1},
        ),
        Panel(
            "Deadlocks (time range)" + exporter,
            "stat",
            _unit("deadlocks"),
            [Target(f"sum(increase(pg_stat_database_deadlocks{{{USER_DATABASES}}}[{RANGE}]))", "deadlocks")],
            "Transactions Postgres aborted to break a deadlock.",
            width=4,
            extra_defaults=_alert_when_above_zero(),
        ),
        Panel(
            "Store's database errors",
            "timeseries",
            _unit("errors/s"),
            [
                Target(
                    f"sum by (handler, kind) (rate(newsflow_store_db_errors_total[{RATE}]))",
                    "{{handler}} {{kind}}",
                )
            ],
            "The store's write failures as it sees them (no exporter needed): transient ones are retried.",
            width=12,
        ),
    ]


def processes() -> list[Panel]:
    return [
        Panel(
            "CPU per service and replica",
            "timeseries",
            "percentunit",
            [
                Target(
                    f"sum by (service, replica, instance) (rate(process_cpu_seconds_total{{{PROCESS}}}[{RATE}]))",
                    "{{service}} {{replica}} {{instance}}",
                )
            ],
            "CPU time per second of each process: 100 % is one core.",
        ),
        Panel(
            "Memory per service and replica",
            "timeseries",
            "bytes",
            [
                Target(
                    f"sum by (service, replica, instance) (process_resident_memory_bytes{{{PROCESS}}})",
                    "{{service}} {{replica}} {{instance}}",
                )
            ],
            "Resident memory of each process (compare with its container's memory limit in docker-compose.yml).",
        ),
        Panel(
            "Open files per service and replica",
            "timeseries",
            _unit("files"),
            [
                Target(
                    f"sum by (service, replica, instance) (process_open_fds{{{PROCESS}}})",
                    "{{service}} {{replica}} {{instance}}",
                )
            ],
            "Open file descriptors (files, sockets) of each process.",
        ),
        Panel(
            "Restarts (time range)",
            "bargauge",
            _unit("restarts"),
            [
                Target(
                    f"sum by (service, replica) (changes(process_start_time_seconds{{{PROCESS}}}[{RANGE}]))",
                    "{{service}} {{replica}}",
                    instant=True,
                )
            ],
            "Times a process of each service started again at the same address in the time range (a restart "
            "on a new port shows as a new line); every start is also annotated on the graphs.",
        ),
    ]


ROWS: Final = (
    ("Overview", overview),
    ("Pipeline", pipeline),
    ("Ingest", ingest),
    ("Broker and topics", broker),
    ("Read API", read_api),
    ("Database", database),
    ("Processes", processes),
)


# --- assembling the dashboard ------------------------------------------------------------------------
def _options(panel: Panel) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "timeseries":
        base: dict[str, Any] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        }
    elif panel.kind == "stat":
        base = {"colorMode": "value", "graphMode": "area", "textMode": "auto", "reduceOptions": reduce}
    else:
        base = {"orientation": "horizontal", "displayMode": "basic", "showUnfilled": True, "reduceOptions": reduce}
    return {**base, **panel.options}


def _defaults(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit}
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 2,
            "fillOpacity": 8,
            "showPoints": "never",
            "spanNulls": False,
        }
    return {**defaults, **panel.extra_defaults}


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, target in enumerate(panel.targets):
        item: dict[str, Any] = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "expr": target.expr,
            "legendFormat": target.legend,
        }
        if target.instant:
            item["instant"] = True
        targets.append(item)
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "targets": targets,
        "options": _options(panel),
    }


def _variable(name: str, label: str, query: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "description": description,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
    }


def variables() -> list[dict[str, Any]]:
    return [
        _variable(
            "service", "service", f"label_values(up{{{NEWSFLOW}}}, service)", "ingest, enrich, store or api (processes)"
        ),
        _variable(
            "instance",
            "instance",
            f'label_values(up{{{NEWSFLOW}, service=~"$service"}}, instance)',
            "One metrics endpoint (host:port)",
        ),
        _variable(
            "replica",
            "replica",
            f'label_values(up{{{NEWSFLOW}, service=~"$service"}}, replica)',
            "One replica (newsflow run: enrich-2; docker-compose: the container's address)",
        ),
        _variable("topic", "topic", "label_values(newsflow_kafka_produced_messages_total, topic)", "Kafka topic"),
        _variable(
            "group", "consumer group", "label_values(newsflow_consumer_lag_messages, group)", "Kafka consumer group"
        ),
    ]


def dashboard_annotations() -> list[dict[str, Any]]:
    return [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        },
        {
            # Each distinct start time of a process is one mark at that time: a deploy or a restart.
            "name": "Process starts (deploys, restarts)",
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "red",
            "expr": f"process_start_time_seconds{{{NEWSFLOW}}} * 1000",
            "step": "60s",
            "useValueForTime": True,
            "titleFormat": "{{service}} {{replica}} started",
            "textFormat": "{{instance}}",
            "tagKeys": "service,replica",
        },
        {
            "name": "Consumer rebalances",
            "datasource": DATASOURCE,
            "enable": True,
            "iconColor": "orange",
            "expr": "sum by (group) (increase(newsflow_consumer_rebalances_total[2m])) > 0",
            "step": "60s",
            "titleFormat": "{{group}} rebalanced",
            "tagKeys": "group",
        },
    ]


def build() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    panel_id = 0
    y = 0
    for row_title, make in ROWS:
        panel_id += 1
        panels.append(
            {
                "id": panel_id,
                "type": "row",
                "title": row_title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": PANEL_WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        x, row_height = 0, 0
        for panel in make():
            if x + panel.width > PANEL_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            panel_id += 1
            panels.append(_panel_json(panel, panel_id, x, y))
            x += panel.width
            row_height = max(row_height, panel.height)
        y += row_height
    return {
        "uid": "newsflow-pipeline",
        "title": "newsflow pipeline",
        "description": "newsflow at a glance: throughput, latency of live drops, lag, files waiting or stuck, rejects, "
        "reprints, entities, the broker and its topics, Postgres, the read API, and each process's CPU and memory. "
        "Generated by deploy/grafana_dashboard.py.",
        "tags": ["newsflow"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 3,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "templating": {"list": variables()},
        "annotations": {"list": dashboard_annotations()},
        "links": [],
        "panels": panels,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
