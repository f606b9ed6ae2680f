"""``localinvocationstats`` (spec iii-0.23-0.25 §3.4): counts of what the engine cannot see.

Local invocations and dropped reports are counted per function; the client sends a frame every
``interval`` (10 s) when a counter is non-zero and the engine has observe.v1, and once at shutdown.
Counts keep accumulating while offline. Only touched on the client's loop thread.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

#: Seconds between two sends (the official SDK's cadence).
DEFAULT_INTERVAL_S: Final = 10.0


@dataclass
class _Counts:
    count: int = 0
    errors: int = 0
    duration_ms_sum: float = 0.0


class LocalStats:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._functions: dict[str, _Counts] = defaultdict(_Counts)
        self._dropped: dict[tuple[str, str], int] = defaultdict(int)
        self._window_start: float | None = None

    def _start(self) -> None:
        if self._window_start is None:
            self._window_start = self._clock()

    def record(self, function_id: str, ok: bool, duration_ms: float) -> None:
        self._start()
        counts = self._functions[function_id]
        counts.count += 1
        counts.errors += 0 if ok else 1
        counts.duration_ms_sum += duration_ms

    def drop(self, function_id: str, reason: str, count: int = 1) -> None:
        """A report this SDK gave up on: ``BUFFER_FULL``, ``TOO_LARGE`` or ``INACTIVE``."""
        if count > 0:
            self._start()
            self._dropped[(function_id, reason)] += count

    def empty(self) -> bool:
        return not self._functions and not self._dropped

    def take(self) -> dict[str, Any] | None:
        """The frame for the window so far (and a fresh window), or None when nothing happened."""
        if self.empty() or self._window_start is None:
            return None
        now = self._clock()
        frame = {
            "type": "localinvocationstats",
            "window_ms": max(0, round((now - self._window_start) * 1000)),
            "functions": [
                {"function_id": fid, "count": c.count, "errors": c.errors, "duration_ms_sum": c.duration_ms_sum}
                for fid, c in self._functions.items()
            ],
            "dropped_reports": [
                {"function_id": fid, "reason": reason, "count": n} for (fid, reason), n in self._dropped.items()
            ],
        }
        self._functions.clear()
        self._dropped.clear()
        self._window_start = now
        return frame
