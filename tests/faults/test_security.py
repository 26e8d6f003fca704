"""Security gaps not covered by the ingest and store suites: link escapes from a recursive inbox,
a read-only API surface, bounded memory against a decompression bomb, oversized JSON refused unread.

(Already covered elsewhere: an absolute symlink to /etc/passwd and a cross-mount symlink in
``tests/ingest``; gzip bomb and deeply nested JSON reasons in ``tests/ingest/test_formats.py``.)
"""

from __future__ import annotations

import json
import threading
import tracemalloc
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.harness.pipeline import wait_until
from services.api.app import create_app
from services.embedded import free_port
from services.ingest.parsing.errors import Rejection
from services.ingest.parsing.formats import parse_file
from services.ingest.service import IngestService
from shared.config import Settings
from shared.events import TOPIC_RAW, RawArticle
from shared.kafka import ensure_topics
from tests.ingest.support import read_topic

pytestmark = pytest.mark.faults

_SECRET = "TOP SECRET payroll figures that must never leave this folder."
_LIMIT_BYTES = 1024 * 1024
# A bounded inflater needs the limit plus a chunk or two; a full inflate of the bomb needs 50 MB.
_BOMB_INFLATED_BYTES = 50 * 1024 * 1024
_BOMB_PEAK_ALLOWED_BYTES = 4 * _LIMIT_BYTES
_WAIT_SECONDS = 60.0


def _escape_links(inbox: Path, outside: Path) -> dict[str, str]:
    """Links that point out of the inbox in every way a path can; the rejection reason each must get."""
    (outside / "secret.txt").write_text(f"Payroll\n\n{_SECRET}\n")
    (inbox / "nested").mkdir(parents=True)
    (inbox / "linked-folder").symlink_to(outside, target_is_directory=True)
    (inbox / "dotdot.txt").symlink_to(Path("..") / outside.name / "secret.txt")
    (inbox / "nested" / "deeper.txt").symlink_to(Path("..") / ".." / outside.name / "secret.txt")
    (inbox / "absolute.txt").symlink_to(outside / "secret.txt")
    return {
        "linked-folder": "symlink_outside_inbox",
        "dotdot.txt": "symlink_outside_inbox",
        "nested/deeper.txt": "symlink_outside_inbox",
        "absolute.txt": "symlink_outside_inbox",
    }


def test_links_never_take_ingest_out_of_a_recursive_inbox(tmp_path: Path, kafka_bootstrap: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        data_dir=tmp_path / "data",
        inbox=tmp_path / "inbox",
        inbox_recursive=True,
        file_settle_seconds=0.2,
        max_file_bytes=_LIMIT_BYTES,
    )
    settings.inbox.mkdir()
    ensure_topics(settings)
    expected = _escape_links(settings.inbox, outside)
    fine = "A real story\n\nLONDON: A story that is really in the inbox.\n"
    (settings.inbox / "nested" / "fine.txt").write_text(fine)
    # Huge JSON: refused from its size before a byte of it is read or parsed.
    record = {"title": "Item", "body": "A normal record with a sentence of text in it."}
    (settings.inbox / "huge.json").write_text(json.dumps([record] * 30_000))
    expected["huge.json"] = "too_large"

    stop = threading.Event()
    service = IngestService(settings, stop)
    try:
        rejected = settings.rejected_dir

        def all_handled() -> bool:
            service.run_cycle()
            return all((rejected / f"{name}.error.json").exists() for name in expected)

        wait_until(all_handled, "every link to be rejected", _WAIT_SECONDS)
        wait_until(lambda: service.run_cycle() or not (settings.inbox / "nested" / "fine.txt").exists(), "fine.txt")
    finally:
        stop.set()
        service.close()

    for name, reason in expected.items():
        assert json.loads((rejected / f"{name}.error.json").read_text())["reason"] == reason, name
    for name in set(expected) - {"huge.json"}:
        assert (rejected / name).is_symlink(), f"{name}: the link itself is kept, never its target"
    huge_error = json.loads((rejected / "huge.json.error.json").read_text())
    assert "NEWSFLOW_MAX_FILE_BYTES" in json.dumps(huge_error), "the reason says which limit and how to fix it"
    events = [RawArticle.model_validate_json(value) for value in read_topic(settings, TOPIC_RAW)]
    assert [event.source_file for event in events] == ["nested/fine.txt"]
    assert all(_SECRET not in event.body for event in events)
    assert (outside / "secret.txt").read_text() == f"Payroll\n\n{_SECRET}\n", "the target is left alone"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"], "nothing is written outside the inbox"


# The one resource the API writes (issue 26: saved searches), and how.
WRITE_OPERATIONS = {("/watches", "post"), ("/watches/{watch_id}", "put"), ("/watches/{watch_id}", "delete")}


def test_the_read_api_writes_only_watches() -> None:
    app = create_app(Settings(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/none"))
    with TestClient(app, raise_server_exceptions=False) as client:
        spec = client.get("/openapi.json").json()
        operations = {(path, method) for path, item in spec["paths"].items() for method in item}
        assert operations, "the OpenAPI document lists the API"
        assert {op for op in operations if op[1] != "get"} == WRITE_OPERATIONS, sorted(operations)
        served = {
            method
            for route in app.routes
            if not str(getattr(route, "path", "")).startswith("/watches")
            for method in getattr(route, "methods", None) or ()
        }
        assert served <= {"GET", "HEAD"}, f"routes outside the OpenAPI document accept {served}"
        for path in {path for path, _ in operations}:
            concrete = path.replace("{", "").replace("}", "")
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                if (path, method.lower()) not in WRITE_OPERATIONS:
                    assert client.request(method, concrete).status_code == 405, (method, path)


def test_a_decompression_bomb_is_refused_with_bounded_memory() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = packer.compress(b"\0" * _BOMB_INFLATED_BYTES) + packer.flush()
    tracemalloc.start()
    try:
        with pytest.raises(Rejection) as refused:
            parse_file("bomb.json.gz", bomb, max_bytes=_LIMIT_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.reason == "too_large" and "NEWSFLOW_MAX_FILE_BYTES" in refused.value.message
    assert peak < _BOMB_PEAK_ALLOWED_BYTES, f"inflating used {peak:,} bytes for a {_LIMIT_BYTES:,}-byte limit"
