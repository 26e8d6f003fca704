"""Fixtures of the ingest tests: settings on a real broker with short settle and poll times."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings
from shared.kafka import ensure_topics


@pytest.fixture
def ingest_settings(tmp_path: Path, kafka_bootstrap: str) -> Settings:
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        data_dir=tmp_path / "data",
        inbox=tmp_path / "inbox",
        file_settle_seconds=0.3,
        inbox_poll_interval_seconds=0.5,
    )
    settings.inbox.mkdir(parents=True)
    ensure_topics(settings)
    return settings
