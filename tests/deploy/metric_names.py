"""Every sample name newsflow's services export, to check the alert rules and dashboards against.

A rule or panel on a misspelt metric is silent: it never fires, or shows "no data" for ever.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

from prometheus_client import REGISTRY

# Every module that defines newsflow_* metrics.
METRIC_MODULES = (
    "shared.metrics",
    "services.ingest.metrics",
    "services.enrich.metrics",
    "services.enrich.stories.metrics",
    "services.store.metrics",
    "services.api.metrics",
    "services.store.watches.metrics",
)
NEWSFLOW_NAME = re.compile(r"\bnewsflow_[a-z0-9_]+")


@cache
def exported_sample_names() -> frozenset[str]:
    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("newsflow_"):
            continue
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return frozenset(names)


def unknown_newsflow_names(expression: str) -> set[str]:
    """The newsflow_* names in a PromQL expression that no service exports."""
    return set(NEWSFLOW_NAME.findall(expression)) - exported_sample_names()
