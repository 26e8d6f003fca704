"""The story index's Prometheus metrics (``newsflow_enrich_story_*``); labels are a bounded enum."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prometheus_client import Counter, Histogram

from shared.metrics import init_labels

if TYPE_CHECKING:
    from services.enrich.stories.assigner import StoryResult

StoryOutcome = Literal["started", "joined", "inherited"]
STORY_OUTCOMES: tuple[StoryOutcome, ...] = ("started", "joined", "inherited")

STORY_OUTCOME = Counter(
    "newsflow_enrich_story_outcome_total",
    "Articles by story decision: started a story, joined one by similarity, inherited their original's.",
    ["outcome"],
)
STORY_SECONDS = Histogram(
    "newsflow_enrich_story_seconds",
    "Time to assign one batch to stories (inside the index lock).",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2),
)


def init_story_metrics() -> None:
    init_labels(STORY_OUTCOME, [(o,) for o in STORY_OUTCOMES])


def record(result: StoryResult) -> None:
    for outcome, count in result.outcomes.items():
        STORY_OUTCOME.labels(outcome).inc(count)
