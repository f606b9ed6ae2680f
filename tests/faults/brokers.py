"""Private brokers for the fault suite: a throw-away ``redis-server`` (AOF ``always``) on a free
port, the queue worker process, and async helpers shared by the F2/F3/F5/F11/F14 scenarios."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.engine import REPO, free_port, wait_port
from tests.support.waiting import eventually, eventually_sync
from tests.support.wire import RawWorker


class RedisServer:
    """``redis-server --appendonly yes --appendfsync always`` in ``workdir``; restartable on the
    same port and data (F3 kills it with -9 and starts it again: AOF ``always`` keeps every
    acknowledged write)."""

    def __init__(self, workdir: Path, fsync: str = "always") -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        pytest.importorskip("redis")
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.fsync = fsync
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", self.fsync, "--dir", str(self.dir),
             "--protected-mode", "no"],
            stdout=(self.dir / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        wait_port(self.port, 10, self.proc)
        import redis

        def pongs() -> bool:  # the port opens before the AOF is loaded
            try:
                return bool(redis.Redis(port=self.port).ping())
            except redis.exceptions.BusyLoadingError:
                return False

        eventually_sync(pongs, 10, 0.05, what="redis to load its AOF")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def rabbitmq_available() -> None:
    pytest.importorskip("aio_pika")
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"RabbitMQ is not reachable at 127.0.0.1:5672: {exc}")


def queue_adapter(kind: str, redis: RedisServer | None = None) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    if kind == "sqlite":
        return {"name": "sqlite"}
    if kind == "redis":
        assert redis is not None
        return {"name": "redis", "config": {"redis_url": redis.url, "key_prefix": f"iii:faults:{tag}", "block_ms": 500}}
    rabbitmq_available()
    return {"name": "rabbitmq", "config": {"amqp_url": "amqp://guest:guest@127.0.0.1:5672/",
                                           "name_prefix": f"iii-faults-{tag}"}}


def spawn_queue_worker(url: str, function_id: str, topic: str, log: Path, mode: str = "ok",
                       queue_config: dict[str, Any] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OTEL_ENABLED": "false", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.procs.queue_worker", url, function_id, topic, str(log), mode,
         json.dumps(queue_config or {})],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=(log.parent / f"{function_id}.err").open("ab"))


def read_log(log: Path) -> list[tuple[str, float]]:
    """``(pid, wall time)`` per handled message, as the queue worker logged them."""
    if not log.exists():
        return []
    rows = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            rows.append((parts[0], float(parts[1])))
    return rows


async def call_or_drop(client: RawWorker, function_id: str, data: Any, timeout: float = 10.0) -> dict[str, Any]:
    """``client.call`` that raises ``ConnectionError`` as soon as the connection drops (the engine
    was killed) instead of waiting for the timeout."""
    task = asyncio.ensure_future(client.call(function_id, data, timeout=timeout))
    reader = client._reader
    done, _ = await asyncio.wait({task, reader}, timeout=timeout + 1, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        try:
            return task.result()
        except ConnectionClosed as exc:  # the send itself hit the dropped socket
            raise ConnectionError("connection dropped while sending the call") from exc
    task.cancel()
    raise ConnectionError("connection dropped with the call in flight")


async def wait_trigger(client: RawWorker, function_id: str, trigger_type: str, timeout: float = 20.0) -> float:
    """Wait until ``function_id`` has a live ``trigger_type`` binding; returns the seconds waited."""
    start = time.monotonic()

    async def bound() -> bool:
        res = await client.call("engine::registered-triggers::list",
                                {"function_id": function_id, "trigger_type": trigger_type})
        return bool(res.get("result", {}).get("registered_triggers"))

    await eventually(bound, timeout, 0.05, what=f"a {trigger_type} binding of {function_id}")
    return time.monotonic() - start


def write_result(results: Path, name: str, data: dict[str, Any]) -> None:
    results.mkdir(exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(data))


async def until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """``eventually`` that answers ``False`` instead of failing when ``predicate`` never held (the
    caller reports the shortfall itself)."""
    try:
        return bool(await eventually(predicate, timeout, interval))
    except AssertionError:
        return False


async def quiet(log: Path, for_s: float = 1.0, timeout: float = 30.0) -> None:
    """Wait until ``log`` (a handled-messages log) stops growing for ``for_s`` seconds: the
    redeliveries still in flight have landed."""
    seen = [-1]

    def still() -> bool:
        count = len(read_log(log))
        same = count == seen[0]
        seen[0] = count
        return same

    await eventually(still, timeout, for_s, what=f"{log.name} to stop growing for {for_s}s")
