"""The console API's adapters against a fake engine: the overview's shape (and its parts left
empty when a worker is missing), state keys from state::list_entries with the old fallback,
dead letters named after their function, cron rows with next and last run."""

from __future__ import annotations

from typing import Any

from pyiii.console.api import ConsoleApi
from pyiii.console.caller import CallFailed


class FakeEngine:
    def __init__(self, functions: dict[str, Any]) -> None:
        self.functions = functions
        self.calls: list[tuple[str, Any]] = []

    async def call(self, function_id: str, payload: Any, timeout: float = 30.0) -> Any:
        self.calls.append((function_id, payload))
        if function_id not in self.functions:
            raise CallFailed("function_not_found", f"Function '{function_id}' not found")
        handler = self.functions[function_id]
        return handler(payload) if callable(handler) else handler

    async def close(self) -> None:
        return None


METRICS = {"engine_metrics": {"invocations": {"total": 10, "error": 2, "by_function": {
    "steps::A": {"total": 7, "error": 2, "p50_duration_ms": 1.5, "p99_duration_ms": 9.0, "avg_duration_ms": 2.0},
    "steps::B": {"total": 3, "error": 0, "p50_duration_ms": 0.5, "p99_duration_ms": 0.7, "avg_duration_ms": 0.6},
    "state::get": {"total": 40, "error": 0},
    "steps::Gone": {"total": 1, "error": 0},
}}, "performance": {"p50_duration_ms": 1.0, "p99_duration_ms": 8.0}}}
FUNCTIONS = {"functions": [{"function_id": "steps::A", "worker_name": "steps"},
                           {"function_id": "steps::B", "worker_name": "steps"},
                           {"function_id": "state::get", "worker_name": "iii-state"}]}


async def test_overview_from_every_source() -> None:
    engine = FakeEngine({
        "engine::metrics::list": METRICS,
        "engine::rollups::list": {"rollups": [{"start_time": 60_000, "count": 4, "error_count": 1},
                                              {"start_time": 120_000, "count": 6, "error_count": 1}]},
        "engine::queue::dlq_topics": [{"topic": "t", "message_count": 3}, {"topic": "u", "message_count": 1}],
        "engine::workers::list": {"workers": [{"id": "w1", "name": "steps", "runtime": "python", "secret": "x"}]},
        "engine::functions::list": FUNCTIONS,
        "engine::traces::list": lambda q: {"spans": [{"trace_id": "abc", "name": "POST /x"}]}
        if q["status"] == "error" else {},
        "engine::logs::list": {"logs": [{"body": "boom", "trace_id": "abc"}]},
    })
    o = await ConsoleApi(engine, {}).overview({})
    # your functions only (state::get and a function no longer registered are left out)
    assert o["invocations"] == {"total": 10, "errors": 2, "error_rate": 0.2, "all_total": 10, "all_errors": 2}
    assert o["slowest"]["function_id"] == "steps::A"
    assert o["last_5m"]["calls"] == 10 and o["last_5m"]["errors"] == 2 and o["last_5m"]["per_minute"] == 5.0
    # user functions only (no system ones, none that is gone), busiest first, with p50/p99
    assert [(f["function_id"], f["p50_ms"], f["p99_ms"]) for f in o["functions"]] == [
        ("steps::A", 1.5, 9.0), ("steps::B", 0.5, 0.7)]
    assert o["dlq"]["total"] == 4 and o["dlq"]["available"]
    assert o["workers"][0]["name"] == "steps" and "secret" not in o["workers"][0]
    assert o["failures"]["traces"][0]["trace_id"] == "abc" and o["failures"]["logs"][0]["body"] == "boom"
    assert [p["count"] for p in o["throughput"]] == [4, 6]


async def test_overview_without_observability_or_queues() -> None:
    engine = FakeEngine({"engine::workers::list": {"workers": []}, "engine::functions::list": FUNCTIONS})
    o = await ConsoleApi(engine, {}).overview({})
    assert o["invocations"]["total"] == 0 and o["functions"] == [] and o["throughput"] == []
    assert o["dlq"] == {"total": 0, "topics": [], "available": False}
    assert not o["observability"] and not o["failures"]["traces_available"]


async def test_state_items_come_with_their_keys() -> None:
    entries = {"entries": [{"key": "latest", "value": {"orders": 3}}], "total": 1, "next_cursor": None}
    engine = FakeEngine({"state::list_entries": entries})
    page = await ConsoleApi(engine, {}).state_items({"scope": "shop-stats", "offset": 50, "limit": 50, "search": "ord"})
    assert page["items"] == [{"key": "latest", "value": {"orders": 3}}] and page["total"] == 1
    query = {"scope": "shop-stats", "limit": 50, "cursor": "50", "search": "ord"}
    assert engine.calls == [("state::list_entries", query)]


async def test_state_items_fall_back_to_key_finding_on_an_older_engine() -> None:
    values = {("s", "a"): {"id": "a"}}
    engine = FakeEngine({"state::list": [{"id": "a"}, {"n": 1}],
                         "state::get": lambda q: values.get((q["scope"], q["key"]))})
    page = await ConsoleApi(engine, {}).state_items({"scope": "s"})
    assert [i["key"] for i in page["items"]] == ["a", None]


async def test_dead_letters_get_their_function_from_the_subscriber_queue() -> None:
    engine = FakeEngine({"engine::queue::dlq_messages": [
        {"id": "1", "queue": "orders::steps::Process", "function_id": None},
        {"id": "2", "queue": "orders::steps::Other", "function_id": "steps::Given"},
        {"id": "3", "queue": "elsewhere", "function_id": None},
    ]})
    rows = (await ConsoleApi(engine, {}).dlq_messages({"topic": "orders"}))["messages"]
    assert [r["function_id"] for r in rows] == ["steps::Process", "steps::Given", None]


async def test_cron_rows_get_next_and_last_run() -> None:
    last = {"scheduled_time": "2026-01-01T00:00:00+00:00", "status": "ok", "duration_ms": 1.0}
    engine = FakeEngine({
        "engine::registered-triggers::list": {"registered_triggers": [
            {"id": "c1", "trigger_type": "cron", "function_id": "f"}, {"id": "h1", "trigger_type": "http"}]},
        "engine::cron::list_jobs": {"jobs": [{"job_id": "c1", "next_run": "2026-01-01T00:01:00+00:00",
                                              "last_run": last, "fired": 1, "timezone": "UTC"}]},
    })
    rows = (await ConsoleApi(engine, {}).triggers({}))["registered_triggers"]
    assert rows[0]["cron"] == {"next_run": "2026-01-01T00:01:00+00:00", "last_run": last, "fired": 1, "timezone": "UTC"}
    assert "cron" not in rows[1]
