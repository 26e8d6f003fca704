"""``/health`` says ``degraded`` while ingest has a file in quarantine (issue 19), and stays 200: the API
still serves, and a bad file dropped in the inbox must not take it out of a load balancer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.config import Settings


class _IngestMetrics(BaseHTTPRequestHandler):
    """An ingest metrics endpoint reporting ``quarantined`` files (set on the server)."""

    def do_GET(self) -> None:
        body = (
            "# TYPE newsflow_ingest_quarantined_files gauge\n"
            f"newsflow_ingest_quarantined_files {self.server.quarantined}\n"  # type: ignore[attr-defined]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def ingest_endpoint() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IngestMetrics)
    server.quarantined = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_health_is_degraded_while_a_file_is_quarantined(
    store_database_url: str, ingest_endpoint: ThreadingHTTPServer, tmp_path: object
) -> None:
    address = f"127.0.0.1:{ingest_endpoint.server_address[1]}"
    settings = Settings(database_url=store_database_url, metrics_targets=[address], data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        app.state.sampler.sample_if_due()
        assert client.get("/health").json()["status"] == "ok"

        ingest_endpoint.quarantined = 1  # type: ignore[attr-defined]
        app.state.sampler._sample()
        response = client.get("/health")
        assert response.status_code == 200, "the API still serves"
        body = response.json()
        assert body["status"] == "degraded" and "1 file(s) quarantined" in body["reason"]

        ingest_endpoint.quarantined = 0  # type: ignore[attr-defined]
        app.state.sampler._sample()
        assert client.get("/health").json()["status"] == "ok", "ok again once the file is moved away"
