"""Structured logging: one JSON object a line on stderr, with the service name.

Pass context through ``extra`` (``log.info("published", extra={"article_id": ..., "source_file":
...})``); every extra key becomes a field of the JSON line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra``. uvicorn adds
# ``color_message`` (the message with terminal colour codes), which has no place in JSON.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName", "color_message"}
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, service, logger, message and extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                # An extra never overwrites the line's own fields (e.g. a "service" extra).
                entry[f"{key}_" if key in entry else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """One short line for people: ``newsflow: <message> (key=value, ...)``; the JSON line is in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        ]
        detail = f" ({', '.join(extras)})" if extras else ""
        return f"newsflow: {record.levelname.lower()}: {record.getMessage()}{detail}"


def configure_logging(
    service: str, level: str = "INFO", *, log_file: Path | None = None, console_level: int | None = None
) -> None:
    """Route all logging (ours and libraries') through one JSON handler: on stderr, or appended to
    ``log_file`` (a command that keeps the terminal for people: a progress bar, a banner).

    With a ``log_file``, ``console_level`` also shows records from that level up on stderr, one
    short line each (``ConsoleFormatter``).
    """
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonFormatter(service))
    handlers = [handler]
    if log_file is not None and console_level is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        console.setFormatter(ConsoleFormatter())
        handlers.append(console)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    # kafka-python logs every reconnect attempt at INFO; keep its warnings only.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start; its migration lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
