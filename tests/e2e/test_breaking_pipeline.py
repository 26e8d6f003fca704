"""Breaking stories through the whole pipeline (issue 26): the five seeds dropped, then four new articles
from four more outlets about the same event (``tests/store/breaking``): enrich groups them in the
seeds' story, and the store fires exactly one ``story.breaking``, seen on ``GET /stream``.

The seeds credit one outlet (seed 004, IANS); the threshold is set to five distinct sources.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.harness.live import read_events
from bench.harness.pipeline import Pipeline, wait_until
from tests.conftest import SEEDS_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FOUR_MORE = sorted((Path(__file__).parent.parent / "store" / "breaking").glob("*.json"))
THRESHOLD = 5


@pytest.fixture
def pipeline(tmp_path: Path, database_url: str) -> Iterator[Pipeline]:
    running = Pipeline(tmp_path, database_url=database_url, extra_env={"NEWSFLOW_BREAKING_MIN_SOURCES": str(THRESHOLD)})
    running.start()
    try:
        yield running
    except BaseException:
        running.dump_logs()
        raise
    finally:
        running.stop()


def _articles(pipeline: Pipeline) -> list[dict[str, object]]:
    response = httpx.get(f"{pipeline.api}/articles", params={"include_duplicates": True, "limit": 100}, timeout=10)
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _breaking(pipeline: Pipeline) -> list[str]:
    events, _ = read_events(f"{pipeline.api}/stream", count=20, timeout_seconds=3, after=0, breaking=True, q="zzzz")
    return [event.data for event in events if event.event == "story.breaking"]


def test_seeds_and_four_more_outlets_fire_one_story_breaking(pipeline: Pipeline) -> None:
    pipeline.inbox.mkdir(parents=True, exist_ok=True)
    for seed in sorted(SEEDS_DIR.glob("*.txt")):
        shutil.copy(seed, pipeline.inbox / seed.name)
    wait_until(lambda: len(_articles(pipeline)) == 5, "the seeds to be stored", 180)
    seeds = _articles(pipeline)
    assert len({item["story_id"] for item in seeds}) == 1, "the seeds are one story"
    assert len({item["source"] for item in seeds if item["source"]}) == 1
    assert _breaking(pipeline) == []
    for path in FOUR_MORE:
        shutil.copy(path, pipeline.inbox / path.name)
    wait_until(lambda: len(_articles(pipeline)) == 9, "the four new articles to be stored", 180)
    stories = {item["story_id"] for item in _articles(pipeline)}
    assert stories == {seeds[0]["story_id"]}, "enrich puts the four new articles in the seeds' story"
    wait_until(lambda: len(_breaking(pipeline)) > 0, "story.breaking on the stream", 30)
    (event,) = _breaking(pipeline)
    assert f'"story_id":"{seeds[0]["story_id"]}"' in event
