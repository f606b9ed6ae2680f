"""``invocationsobserved`` batching and holding (spec iii-0.23-0.25 §5.3.8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyiii.sdk.reporter import Reporter, ReporterLimits


class Host:
    def __init__(self) -> None:
        self.ready: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.timers: list[Callable[[], None]] = []
        self.drops: list[tuple[str, str, int]] = []

    def deliverable(self, function_id: str) -> bool:
        return function_id in self.ready

    def send_raw(self, frame: bytes) -> None:
        self.sent.append(json.loads(frame))

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        self.timers.append(callback)

    def dropped(self, function_id: str, reason: str, count: int) -> None:
        self.drops.append((function_id, reason, count))

    def fire(self) -> None:
        timers, self.timers = self.timers, []
        for t in timers:
            t()


def item(fid: str, n: int) -> dict[str, Any]:
    return {"function_id": fid, "invocation_id": str(n), "matched": ["o"]}


def test_items_leave_in_batches_after_the_linger() -> None:
    host = Host()
    host.ready.add("a::f")
    reporter = Reporter(host, ReporterLimits(max_batch=2))
    for n in range(5):
        reporter.push(item("a::f", n))
    assert host.sent == [] and len(host.timers) == 1  # one timer for the whole burst
    host.fire()
    assert [len(f["items"]) for f in host.sent] == [2, 2, 1]
    assert [i["invocation_id"] for f in host.sent for i in f["items"]] == ["0", "1", "2", "3", "4"]
    assert all(f["type"] == "invocationsobserved" for f in host.sent)


def test_unconfirmed_functions_wait_then_go_or_are_dropped_inactive() -> None:
    host = Host()
    reporter = Reporter(host)
    reporter.push(item("a::f", 1))
    reporter.push(item("a::g", 2))
    host.fire()
    assert host.sent == [] and len(reporter) == 2
    host.ready.add("a::f")
    reporter.flush()
    assert [i["function_id"] for i in host.sent[0]["items"]] == ["a::f"]
    reporter.discard("a::g")
    assert host.drops == [("a::g", "INACTIVE", 1)] and len(reporter) == 0


def test_a_full_buffer_drops_and_counts() -> None:
    host = Host()
    reporter = Reporter(host, ReporterLimits(max_items=1))
    assert reporter.push(item("a::f", 1))
    assert not reporter.push(item("a::f", 2))
    assert host.drops == [("a::f", "BUFFER_FULL", 1)]


def test_items_too_large_for_an_item_or_the_buffer_are_dropped() -> None:
    host = Host()
    reporter = Reporter(host, ReporterLimits(max_item_bytes=200, max_buffer_bytes=400))
    assert not reporter.push({**item("a::f", 1), "input": "x" * 300})
    assert reporter.push({**item("a::f", 2), "input": "x" * 100})
    assert reporter.push({**item("a::f", 3), "input": "x" * 100})
    assert not reporter.push({**item("a::f", 4), "input": "x" * 100})
    assert host.drops == [("a::f", "TOO_LARGE", 1), ("a::f", "BUFFER_FULL", 1)]


def test_batches_stay_under_the_frame_limit() -> None:
    host = Host()
    host.ready.add("a::f")
    reporter = Reporter(host, ReporterLimits(max_frame_bytes=400))
    for n in range(4):
        reporter.push({**item("a::f", n), "input": "x" * 100})
    reporter.flush()
    assert len(host.sent) == 2 and sum(len(f["items"]) for f in host.sent) == 4
