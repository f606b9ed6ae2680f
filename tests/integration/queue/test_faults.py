"""Crashes lose nothing: kill -9 of a worker mid-handler, kill -9 of the engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import adapter_spec, queue_engine, trigger_ready
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually_sync

HERE = Path(__file__).parent


def handled(out: Path) -> list[int]:
    if not out.exists():
        return []
    return [int(line) for line in out.read_text().split()]


def start_worker(url: str, kind: str, name: str, out: Path, delay: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OTEL_ENABLED": "false", "PYTHONPATH": str(HERE.parents[2])}
    proc = subprocess.Popen([sys.executable, str(HERE / "fault_worker.py"), url, kind, name, str(out), str(delay)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    return proc


def publish_many(worker: Any, topic: str, n: int) -> None:
    for i in range(n):
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": topic, "data": {"n": i}}})


@pytest.mark.slow
def test_kill_9_of_a_worker_mid_handler_loses_nothing(tmp_path: Path, sdk: Any) -> None:
    n = 2000
    engine = queue_engine(tmp_path, {"lease_ms": 5000}).start()
    out = tmp_path / "handled.txt"
    first = start_worker(engine.url, "topic", "crash", out, 0.001)
    try:
        client = sdk(engine.url)
        trigger_ready(client, "fault.handle")
        publish_many(client, "crash", n)
        eventually_sync(lambda: len(handled(out)) > n // 4, timeout=15)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert len(set(handled(out))) < n, "the worker finished before it was killed; the test proves nothing"
        second = start_worker(engine.url, "topic", "crash", out, 0.0)
        try:
            eventually_sync(lambda: set(handled(out)) == set(range(n)), timeout=60)
        finally:
            second.kill()
            second.wait()
    finally:
        first.kill()
        engine.stop()


@pytest.mark.slow
@pytest.mark.parametrize("adapter", ["sqlite", "redis", "rabbitmq"])
def test_kill_9_of_the_engine_loses_no_acknowledged_message(tmp_path: Path, sdk: Any, adapter: str) -> None:
    n = 1000
    config = {"adapter": adapter_spec(adapter), "lease_ms": 2000}
    engine = queue_engine(tmp_path, config).start()
    out = tmp_path / "handled.txt"
    worker = start_worker(engine.url, "topic", "enginecrash", out, 0.03)
    try:
        client = sdk(engine.url)
        trigger_ready(client, "fault.handle")
        publish_many(client, "enginecrash", n)  # every one of these was acknowledged
        eventually_sync(lambda: len(handled(out)) > n // 10, timeout=15)
        engine.kill()
        assert len(set(handled(out))) < n, "everything was handled before the crash; the test proves nothing"
        engine = EngineProcess(tmp_path, workers=[{"name": "iii-queue", "config": config}], port=engine.port).start()
        # the worker reconnects by itself and re-registers its subscription
        eventually_sync(lambda: set(handled(out)) == set(range(n)), timeout=90)
    finally:
        worker.kill()
        worker.wait()
        engine.stop()
