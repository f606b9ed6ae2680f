"""iii-cron with the official Python SDK: payload, bad input, one fire per tick across engines,
no catch-up after downtime."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import trigger_ready
from tests.support.engine import EngineProcess
from tests.support.official_sdk import official_workers
from tests.support.servers import require_redis
from tests.support.waiting import eventually_sync, stays_sync

os.environ.setdefault("OTEL_ENABLED", "false")
EVERY_SECOND = "* * * * * *"


@pytest.fixture
def sdk() -> Iterator[Callable[..., Any]]:
    with official_workers("cron-test") as connect:
        yield connect


class Ticks:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def handler(self, label: str) -> Any:
        def run(data: dict[str, Any]) -> None:
            with self.lock:
                self.items.append((label, data))
        return run

    def scheduled(self) -> list[str]:
        with self.lock:
            return [d["scheduled_time"] for _, d in self.items]


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def test_payload_and_timezone(tmp_path: Path, sdk: Any) -> None:
    engine = EngineProcess(tmp_path, workers=[{"name": "cron"}]).start()
    try:
        worker = sdk(engine.url)
        ticks = Ticks()
        worker.register_function("cron.tick", ticks.handler("x"))
        worker.register_trigger({"type": "cron", "function_id": "cron.tick",
                                 "config": {"expression": EVERY_SECOND, "timezone": "Asia/Kolkata"}})
        eventually_sync(lambda: len(ticks.items) >= 2, timeout=15)
        _, payload = ticks.items[0]
        assert set(payload) == {"trigger", "job_id", "scheduled_time", "actual_time"}
        assert payload["trigger"] == "cron" and payload["job_id"]
        scheduled, actual = parse(payload["scheduled_time"]), parse(payload["actual_time"])
        assert scheduled.utcoffset().total_seconds() == 0 and scheduled.microsecond == 0
        assert actual >= scheduled
    finally:
        engine.stop()


@pytest.mark.parametrize(("config", "needle"), [
    ({"expression": "* * * * *"}, "6 or 7 fields"),
    ({"expression": "0 0 25 * * *"}, "outside 0-23"),
    ({}, "Cron expression is required"),
    ({"expression": "0 * * * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
])
def test_bad_cron_config_is_a_typed_error(tmp_path: Path, sdk: Any, config: dict[str, Any], needle: str) -> None:
    from iii import InvocationError

    engine = EngineProcess(tmp_path, workers=[{"name": "iii-cron"}]).start()
    try:
        worker = sdk(engine.url)
        with pytest.raises(InvocationError) as info:
            worker.trigger({"function_id": "engine::register_trigger",
                            "payload": {"trigger_type": "cron", "function_id": "nobody", "config": config}})
        assert info.value.code == "trigger_registration_failed"
        assert needle in info.value.message
    finally:
        engine.stop()


def test_two_engines_sharing_redis_fire_each_tick_once(tmp_path: Path, sdk: Any) -> None:
    require_redis("the redis cron lock", "redis://127.0.0.1:6379")
    cron = {"name": "iii-cron", "config": {"adapter": {"name": "redis", "config": {
        "redis_url": "redis://127.0.0.1:6379", "key_prefix": f"cron-test-{uuid.uuid4().hex[:8]}"}}}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    engines = [EngineProcess(tmp_path / d, workers=[cron]).start() for d in "ab"]
    try:
        ticks = Ticks()
        for label, engine in zip("ab", engines, strict=True):
            worker = sdk(engine.url)
            worker.register_function("cron.shared", ticks.handler(label))
            worker.register_trigger({"type": "cron", "function_id": "cron.shared",
                                     "config": {"expression": EVERY_SECOND}})
            trigger_ready(worker, "cron.shared", "cron")
        eventually_sync(lambda: len(ticks.items) >= 5, timeout=15)
        # No tick twice, also among those still in flight: both engines fire a given second's tick
        # within that second, so a duplicate lands well inside 1.5 s of the one before it.
        stays_sync(lambda: len(ticks.scheduled()) == len(set(ticks.scheduled())), 1.5, what="each tick once")
        scheduled = ticks.scheduled()
        assert len(scheduled) == len(set(scheduled)), f"a tick fired twice: {sorted(scheduled)}"
    finally:
        for engine in engines:
            engine.stop()


@pytest.mark.slow
def test_missed_ticks_are_not_caught_up_after_downtime(tmp_path: Path, sdk: Any) -> None:
    engine = EngineProcess(tmp_path, workers=[{"name": "iii-cron"}]).start()
    try:
        worker = sdk(engine.url)
        ticks = Ticks()
        worker.register_function("cron.down", ticks.handler("x"))
        worker.register_trigger({"type": "cron", "function_id": "cron.down", "config": {"expression": EVERY_SECOND}})
        eventually_sync(lambda: len(ticks.items) >= 2, timeout=15)
        engine.kill()
        down_at = datetime.now(UTC)
        time.sleep(3)  # not a wait: the engine stays down for 3 s so that ticks are missed
        up_at = datetime.now(UTC)
        engine = EngineProcess(tmp_path, workers=[{"name": "iii-cron"}], port=engine.port).start()
        before = len(ticks.items)
        eventually_sync(lambda: len(ticks.items) >= before + 2, timeout=30)  # the SDK reconnects and re-registers
        late = [parse(s) for s in ticks.scheduled()[before:]]
        assert all(t >= up_at.replace(microsecond=0) for t in late), "a tick from the downtime was fired"
        assert not [t for t in map(parse, ticks.scheduled()) if down_at < t < up_at.replace(microsecond=0)]
    finally:
        engine.stop()


def test_list_jobs_gives_next_and_last_run(tmp_path: Path, sdk: Any) -> None:
    engine = EngineProcess(tmp_path, workers=[{"name": "iii-cron"}]).start()
    try:
        worker = sdk(engine.url)
        ticks = Ticks()
        worker.register_function("cron.listed", ticks.handler("x"))

        def failing(data: dict[str, Any]) -> None:
            raise RuntimeError("boom")

        worker.register_function("cron.failing", failing)
        worker.register_trigger({"type": "cron", "function_id": "cron.listed", "config": {"expression": EVERY_SECOND}})
        worker.register_trigger({"type": "cron", "function_id": "cron.failing", "config": {"expression": EVERY_SECOND}})
        eventually_sync(lambda: len(ticks.items) >= 2, timeout=15)

        def jobs() -> dict[str, Any]:
            listed = worker.trigger({"function_id": "engine::cron::list_jobs", "payload": {}})["jobs"]
            return {j["function_id"]: j for j in listed}

        eventually_sync(lambda: (jobs().get("cron.failing", {}).get("last_run") or {}).get("status") == "error",
                        timeout=15)
        listed = jobs()
        ok = listed["cron.listed"]
        assert ok["expression"] == EVERY_SECOND and ok["timezone"] == "UTC" and ok["fired"] >= 2
        assert parse(ok["next_run"]) >= datetime.now(UTC).replace(microsecond=0)
        assert ok["last_run"]["status"] in ("ok", "running")
        assert parse(ok["last_run"]["scheduled_time"]) < parse(ok["next_run"])
        assert "boom" in listed["cron.failing"]["last_run"]["error"]
    finally:
        engine.stop()
