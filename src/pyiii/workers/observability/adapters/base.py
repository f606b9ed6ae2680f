"""What the worker needs from a telemetry store; :mod:`.memory` and :mod:`.sqlite` provide it.

Records are the JSON-ready dicts the query functions return (spec §11.2 span, §11.3 StoredLog).
``add_*`` never blocks the event loop; reads are async so a disk store can run them in a thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

#: A stored span as Python objects takes about twice its JSON text plus ~1 KB of dict/list
#: headers (measured with tracemalloc); the memory store's byte cap counts that estimate.
RECORD_OVERHEAD_BYTES = 1100


def record_size(record: dict[str, Any]) -> int:
    return 2 * len(orjson.dumps(record, default=str)) + RECORD_OVERHEAD_BYTES


def now_ns() -> int:
    return time.time_ns()


@dataclass(slots=True)
class Caps:
    """Retention by count, bytes and age. Applied to spans and logs separately."""

    max_count: int
    max_bytes: int
    max_age_seconds: int


@dataclass(slots=True)
class TimeRange:
    since_ns: int | None = None
    until_ns: int | None = None


class TelemetryStore(Protocol):
    def add_spans(self, spans: list[dict[str, Any]]) -> None: ...

    def add_logs(self, logs: list[dict[str, Any]]) -> None: ...

    async def spans(self, trace_ids: set[str] | None = None, window: TimeRange | None = None) -> list[dict[str, Any]]:
        """Stored spans, oldest first; narrowed by trace ids and by start time when given."""
        ...

    async def logs(self, window: TimeRange | None = None, trace_id: str | None = None) -> list[dict[str, Any]]:
        """Stored logs, oldest first."""
        ...

    async def clear_spans(self) -> None: ...

    async def clear_logs(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...
