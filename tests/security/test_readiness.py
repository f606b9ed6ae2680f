"""Attack (on operations): the Redis behind state, queues and pub/sub goes away while
``/readyz`` keeps answering 200, so a load balancer keeps sending work to an engine that fails
it. Readiness must name each adapter that is down, and come back when the server does."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import EngineProcess
from tests.support.redis_server import ThrowawayRedis
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

ADAPTERS = ("iii-state:redis", "iii-queue:redis", "iii-pubsub:redis")

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def engine(tmp_path: Path, redis: ThrowawayRedis) -> Iterator[EngineProcess]:
    adapter: dict[str, Any] = {"name": "redis", "config": {"redis_url": redis.url}}
    proc = EngineProcess(
        tmp_path,
        workers=[
            {"name": "iii-state", "config": {"adapter": adapter}},
            {"name": "iii-queue", "config": {"adapter": adapter}},
            {"name": "iii-pubsub", "config": {"adapter": adapter}},
        ],
        # Short cache so the test sees changes fast; the timeout bounds each PING.
        extra={"engine": {"health_check_timeout_ms": 500, "health_check_cache_ms": 100}},
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


async def _readyz(engine: EngineProcess) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(engine.url.replace("ws", "http", 1) + "/readyz")
    return response.status_code, response.json()


async def test_readyz_names_each_adapter_that_is_down_and_recovers(
    engine: EngineProcess, redis: ThrowawayRedis
) -> None:
    status, body = await eventually(lambda: _ok(engine), timeout=10, what="ready with Redis up")
    assert set(ADAPTERS) <= set(body["adapters"])

    redis.kill()
    started = time.monotonic()
    status, body = await eventually(lambda: _down(engine), timeout=5, what="503 with Redis down")
    assert status == 503 and body["status"] == "not_ready"
    for name in ADAPTERS:
        adapter = body["adapters"][name]
        assert adapter["ok"] is False and adapter["error"], adapter
        assert adapter["checked_at_ms"] > 0
        assert body["checks"][name] is False
    assert time.monotonic() - started < 5

    client = await RawWorker.connect(engine.url)
    try:
        health = (await client.call("engine::health::check", {}))["result"]
        assert health["status"] == "unhealthy"
        down = {a["name"] for a in health["adapters"] if not a["ok"]}
        assert set(ADAPTERS) <= down
    finally:
        await client.close()

    redis.start()  # same port: the adapters reconnect on their own
    status, body = await eventually(lambda: _ok(engine), timeout=10, what="ready again")
    assert all(body["adapters"][name]["ok"] for name in ADAPTERS)


async def test_readyz_probes_are_cached_not_one_ping_each(engine: EngineProcess, redis: ThrowawayRedis) -> None:
    await eventually(lambda: _ok(engine), timeout=10, what="ready")
    before = _pings(redis)
    results = await asyncio.gather(*(_readyz(engine) for _ in range(50)))
    assert all(status == 200 for status, _ in results)
    # 3 adapters, 100 ms cache: 50 probes fired at once cost a handful of PINGs, not 150.
    assert _pings(redis) - before < 30


async def _ok(engine: EngineProcess) -> tuple[int, dict[str, Any]] | None:
    status, body = await _readyz(engine)
    return (status, body) if status == 200 else None


async def _down(engine: EngineProcess) -> tuple[int, dict[str, Any]] | None:
    status, body = await _readyz(engine)
    if status != 503:
        return None
    if not all(name in body["adapters"] and not body["adapters"][name]["ok"] for name in ADAPTERS):
        return None
    return status, body


def _pings(redis: ThrowawayRedis) -> int:
    out = subprocess.run(["redis-cli", "-p", str(redis.port), "info", "commandstats"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("cmdstat_ping:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0
