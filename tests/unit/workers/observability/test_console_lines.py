"""SDK / ``ctx.logger`` records on the engine's console: one log format (Python logging's, under
the record's service name), structured data as ``key=value``, and not stored a second time by
the bridge that stores the engine's own logging."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pyiii.workers.observability.log_bridge import StoreHandler
from pyiii.workers.observability.worker import console_line, format_line


def record(**extra: Any) -> dict[str, Any]:
    return {"severity_text": "WARN", "body": "fraud check unavailable", "service_name": "ProcessOrder",
            "attributes": {"id": "o1", "error": "Function fraud::check not found", "n": 2, "ok": True,
                           "tags": ["a", "b"]},
            "trace_id": "ab" * 16, **extra}


def test_structured_data_is_key_value_and_the_trace_comes_last() -> None:
    assert format_line(record()) == (
        'fraud check unavailable id=o1 error="Function fraud::check not found" n=2 ok=true tags=["a","b"] '
        f"trace={'ab' * 16}")
    assert format_line({"body": "plain", "attributes": {}, "trace_id": None}) == "plain"


def test_printed_through_logging_under_the_step_and_not_stored_twice(caplog: pytest.LogCaptureFixture) -> None:
    stored: list[dict[str, Any]] = []
    bridge = StoreHandler(stored.append, "iii", logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(bridge)
    try:
        with caplog.at_level(logging.INFO):
            console_line(record())
            console_line(record(severity_text="DEBUG", body="hidden"))  # below the level: not printed
    finally:
        root.removeHandler(bridge)
    assert [(r.name, r.levelno, r.getMessage().split(" id=")[0]) for r in caplog.records] == [
        ("ProcessOrder", logging.WARNING, "fraud check unavailable")]
    assert stored == []
