"""``/dashboard/data`` never shows the database's own error text (issue 19): host names, roles and SQL go to
the log, and the page shows a reference to find them there."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from services.api.app import create_app
from shared.config import Settings


def test_a_database_failure_is_a_generic_message_with_a_log_reference(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = create_engine(
        "postgresql+psycopg://secret_role@127.0.0.1:1/secret_db", connect_args={"connect_timeout": 2}
    )
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/x", data_dir=tmp_path), engine=unreachable)
    with caplog.at_level(logging.WARNING), TestClient(app) as client:
        data = client.get("/dashboard/data").json()
    unreachable.dispose()
    message = data["database_error"]
    for leaked in ("secret_role", "secret_db", "127.0.0.1", "connection", "psycopg"):
        assert leaked not in message, message
    reference = message.rsplit("reference ", 1)[1].rstrip(").")
    (logged,) = [r for r in caplog.records if getattr(r, "reference", None) == reference]
    assert "127.0.0.1" in logged.error, "the log keeps the detail, under the same reference"  # type: ignore[attr-defined]
