"""``GET /stream`` (issue 26) over real HTTP: each newly stored article that matches, once, as the listing shows it;
a client that drops and reconnects with ``Last-Event-ID`` misses nothing and sees nothing twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from bench.harness.live import read_events, serve_api
from services.store.consumer import make_article_handler
from shared.config import Settings
from shared.events import EnrichedArticle
from tests.store.seed_events import deliveries, seed_events

COPIES = 8


def copies(events: list[EnrichedArticle], n: int) -> list[EnrichedArticle]:
    """``n`` new articles made from each event (other ids and file names, the same text and entities)."""
    made = []
    for k in range(n):
        for event in events:
            article = event.article.model_copy(
                update={
                    "article_id": f"{event.article.article_id}-{k}",
                    "source_file": f"copy{k}/{event.article.source_file}",
                }
            )
            made.append(event.model_copy(update={"article": article, "duplicate": None}))
    return made


@pytest.fixture
def api(store_database_url: str) -> Iterator[str]:
    settings = Settings(database_url=store_database_url, stream_poll_interval_seconds=0.05)
    with serve_api(settings) as url:
        yield url


def test_a_client_that_reconnects_misses_nothing_and_sees_nothing_twice(api: str, writer: Engine) -> None:
    watch = httpx.post(f"{api}/watches", json={"name": "Trump", "entity": ["Donald Trump"]}).json()
    events = copies(seed_events()[:5], COPIES)
    expected = [e.article.article_id for e in events if any(x.name == "Donald Trump" for x in e.entities)]
    handle = make_article_handler(writer)
    feeding = threading.Thread(
        target=lambda: [handle(deliveries(events[i : i + 5], i)) for i in range(0, len(events), 5)]
    )
    seen: dict[str, list[str]] = {"watch": [], "filters": []}
    # The filter stream and the watch's stream, each read in three connections, resumed by the last id seen.
    streams = {"watch": {"watch": watch["id"]}, "filters": {"entity": "Donald Trump"}}
    last_ids: dict[str, str | None] = {}
    for name, params in streams.items():
        _, last_ids[name] = read_events(f"{api}/stream", count=1, timeout_seconds=0.5, **params)
    feeding.start()
    for name, params in streams.items():
        for part in (len(expected) // 3, len(expected) // 3, len(expected)):
            remaining = len(expected) - len(seen[name])
            got, last_ids[name] = read_events(
                f"{api}/stream", count=min(part, remaining), timeout_seconds=20, last_event_id=last_ids[name], **params
            )
            seen[name] += [json.loads(event.data)["id"] for event in got]
            if len(seen[name]) == len(expected):
                break
    feeding.join()
    assert seen["watch"] == expected
    assert seen["filters"] == expected
    # And nothing more after the last one.
    assert (
        read_events(f"{api}/stream", count=1, timeout_seconds=1, last_event_id=last_ids["watch"], **streams["watch"])[0]
        == []
    )


def test_events_carry_the_article_as_listed_and_a_resumable_id(api: str, writer: Engine) -> None:
    handle = make_article_handler(writer)
    events = seed_events()
    got, last_id = read_events(f"{api}/stream", count=len(events), timeout_seconds=2, after=0, include_duplicates=True)
    assert got == [] and last_id == "0"
    handle(deliveries(events))
    got, last_id = read_events(f"{api}/stream", count=len(events), timeout_seconds=10, after=0, include_duplicates=True)
    listed = {i["id"]: i for i in httpx.get(f"{api}/articles", params={"include_duplicates": True}).json()["items"]}
    assert [json.loads(e.data) for e in got] == [listed[e.article.article_id] for e in events]
    assert [int(e.id or 0) for e in got] == sorted(int(e.id or 0) for e in got) and last_id == got[-1].id
    originals, _ = read_events(f"{api}/stream", count=len(events), timeout_seconds=1, after=0)
    assert [json.loads(e.data)["id"] for e in originals] == [
        e.article.article_id for e in events if e.duplicate is None
    ]


def test_bad_stream_requests_are_422_or_404(api: str) -> None:
    assert httpx.get(f"{api}/stream", params={"watch": 99}).status_code == 404
    both = httpx.get(f"{api}/stream", params={"watch": 1, "q": "x"})
    assert both.status_code == 422 and "Invalid watch" in both.json()["message"]
    bad_id = httpx.get(f"{api}/stream", headers={"Last-Event-ID": "yesterday"})
    assert bad_id.status_code == 422 and "Last-Event-ID" in bad_id.json()["message"]
    assert httpx.get(f"{api}/stream", params={"type": "planet"}).status_code == 422
