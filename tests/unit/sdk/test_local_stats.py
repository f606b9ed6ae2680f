"""``localinvocationstats`` counting (spec iii-0.23-0.25 §3.4)."""

from __future__ import annotations

from pyiii.sdk.local_stats import LocalStats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_counted_sends_nothing() -> None:
    assert LocalStats().take() is None


def test_counts_per_function_with_the_window_since_counting_started() -> None:
    clock = Clock()
    stats = LocalStats(clock)
    stats.record("a::f", True, 1.5)
    stats.record("a::f", False, 0.5)
    stats.drop("a::g", "INACTIVE", 3)
    clock.now += 2.5
    frame = stats.take()
    assert frame == {"type": "localinvocationstats", "window_ms": 2500,
                     "functions": [{"function_id": "a::f", "count": 2, "errors": 1, "duration_ms_sum": 2.0}],
                     "dropped_reports": [{"function_id": "a::g", "reason": "INACTIVE", "count": 3}]}
    assert stats.take() is None  # a fresh window
    clock.now += 1.0
    stats.record("a::f", True, 1.0)
    again = stats.take()
    assert again is not None and again["window_ms"] == 1000  # since the previous send
