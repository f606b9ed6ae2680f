"""Attack: read another stream's data by choosing names that collide once joined with `:`.
Stream `a:b` group `c` and stream `a` group `b:c` must stay apart in storage (memory, SQLite,
Redis) and on a live join; state scope/key likewise. Data written in the old layout
(`<stream>:<group>` tables) is found after an upgrade, also with two engines sharing Redis."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port
from tests.support.servers import require_redis
from tests.support.wire import RawWorker

#: A Redis database of its own: the migration marker is per database, and other suites use db 0.
REDIS_URL = "redis://127.0.0.1:6379/11"


def _adapter(kind: str, tmp_path: Path, name: str) -> dict[str, Any]:
    if kind == "redis":
        require_redis("the redis stream keys", REDIS_URL)
        return {"name": "redis", "config": {"redis_url": REDIS_URL}}
    if kind == "file_based":
        return {"name": "kv", "config": {"store_method": "file_based", "file_path": str(tmp_path / f"{name}.db")}}
    return {"name": "kv", "config": {"store_method": "in_memory"}}


@dataclass
class Running:
    proc: EngineProcess
    worker: RawWorker
    ws_port: int

    async def call(self, function_id: str, data: Any) -> Any:
        frame = await self.worker.call(function_id, data)
        assert "error" not in frame, frame
        return frame.get("result")


def _engine(workdir: Path, stream_adapter: dict[str, Any], state_adapter: dict[str, Any] | None = None
            ) -> tuple[EngineProcess, int]:
    ws_port = free_port()
    workers: list[dict[str, Any]] = [{"name": "iii-stream", "config": {
        "port": ws_port, "host": "127.0.0.1", "adapter": stream_adapter}}]
    if state_adapter is not None:
        workers.append({"name": "iii-state", "config": {"adapter": state_adapter}})
    workdir.mkdir(parents=True, exist_ok=True)
    return EngineProcess(workdir, workers=workers), ws_port


async def _start(proc: EngineProcess, ws_port: int) -> Running:
    await asyncio.to_thread(proc.start)
    return Running(proc, await RawWorker.connect(proc.url), ws_port)


async def _stop(running: Running) -> None:
    await running.worker.close()
    await asyncio.to_thread(running.proc.stop)


@pytest.fixture(params=["in_memory", "file_based", "redis"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Running]:
    proc, ws_port = _engine(tmp_path, _adapter(request.param, tmp_path, "stream"),
                            _adapter(request.param, tmp_path, "state"))
    running = await _start(proc, ws_port)
    try:
        yield running
    finally:
        await _stop(running)
        if request.param == "redis":
            await _forget_redis_keys(f"*{PREFIX}*")


#: Names of this module's collision tests start with it, so their Redis keys can be removed.
PREFIX = f"a{uuid.uuid4().hex[:8]}"


async def _forget_redis_keys(pattern: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=pattern)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def test_colliding_stream_and_group_names_stay_apart(engine: Running) -> None:
    a = f"{PREFIX}{uuid.uuid4().hex[:4]}"
    await engine.call("stream::set", {"stream_name": f"{a}:b", "group_id": "c", "item_id": "x", "data": "left"})
    await engine.call("stream::set", {"stream_name": a, "group_id": "b:c", "item_id": "y", "data": "right"})
    assert await engine.call("stream::list", {"stream_name": f"{a}:b", "group_id": "c"}) == ["left"]
    assert await engine.call("stream::list", {"stream_name": a, "group_id": "b:c"}) == ["right"]
    assert await engine.call("stream::get", {"stream_name": f"{a}:b", "group_id": "c", "item_id": "y"}) is None
    assert await engine.call("stream::list_groups", {"stream_name": f"{a}:b"}) == ["c"]
    assert await engine.call("stream::list_groups", {"stream_name": a}) == ["b:c"]
    listed = {row["id"]: row["groups"] for row in (await engine.call("stream::list_all", {}))["stream"]}
    assert listed[f"{a}:b"] == ["c"] and listed[a] == ["b:c"]

    client = await StreamClient.open(engine.ws_port)
    try:
        await client.join("s", f"{a}:b", "c")
        sync = await client.next()
        assert sync["event"] == {"type": "sync", "data": ["left"]}
        await engine.call("stream::set", {"stream_name": a, "group_id": "b:c", "item_id": "z", "data": "other"})
        await engine.call("stream::send", {"stream_name": a, "group_id": "b:c", "type": "ping", "data": 1})
        await engine.call("stream::set", {"stream_name": f"{a}:b", "group_id": "c", "item_id": "x2", "data": "mine"})
        event = await client.next()
        assert (event["streamName"], event["groupId"], event["event"]["data"]) == (f"{a}:b", "c", "mine")
    finally:
        await client.close()


async def test_state_scope_and_key_stay_apart(engine: Running) -> None:
    a = f"{PREFIX}{uuid.uuid4().hex[:4]}"
    await engine.call("state::set", {"scope": f"{a}:b", "key": "c", "value": "left"})
    await engine.call("state::set", {"scope": a, "key": "b:c", "value": "right"})
    assert await engine.call("state::get", {"scope": f"{a}:b", "key": "c"}) == "left"
    assert await engine.call("state::get", {"scope": a, "key": "b:c"}) == "right"
    assert await engine.call("state::list", {"scope": f"{a}:b"}) == ["left"]


# ---------------------------------------------------------------- migration of the old layout

#: old table name (`<stream>:<group>`) -> (stream, group) it is read as after the upgrade: the
#: first `:` separates them, as `stream::list_all` always split them.
OLD_TABLES = {
    "orders:g1": ("orders", "g1"),
    "chat:room:1": ("chat", "room:1"),
    "pct%41:g": ("pct%41", "g"),
}


async def _assert_old_data_found(running: Running, suffix: str = "") -> None:
    for old, (stream, group) in OLD_TABLES.items():
        stream += suffix
        assert await running.call("stream::get", {"stream_name": stream, "group_id": group, "item_id": "k"}) == old
        assert await running.call("stream::list", {"stream_name": stream, "group_id": group}) == [old]
        assert await running.call("stream::list_groups", {"stream_name": stream}) == [group]


async def test_sqlite_old_layout_is_migrated_once(tmp_path: Path) -> None:
    path = tmp_path / "stream.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE kv_stream (tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, UNIQUE (tbl, key))")
    db.executemany("INSERT INTO kv_stream VALUES (?, 'k', ?)", [(t, f'"{t}"'.encode()) for t in OLD_TABLES])
    db.commit()
    db.close()
    adapter = {"name": "kv", "config": {"store_method": "file_based", "file_path": str(path)}}
    for _restart in range(2):  # the second start finds the migration done and changes nothing
        proc, ws_port = _engine(tmp_path / "engine", adapter)
        running = await _start(proc, ws_port)
        try:
            await _assert_old_data_found(running)
        finally:
            await _stop(running)


async def test_redis_old_layout_is_migrated_once_by_two_engines(tmp_path: Path) -> None:
    adapter = _adapter("redis", tmp_path, "stream")
    redis = Redis.from_url(REDIS_URL)
    suffix = f"-{uuid.uuid4().hex[:8]}"
    try:
        await redis.delete("pyiii:migrations:stream")
        for old in OLD_TABLES:
            stream, _, group = old.partition(":")
            await redis.hset(f"stream:{stream}{suffix}:{group}", "k", f'"{old}"')
        engines = [_engine(tmp_path / f"e{i}", adapter) for i in range(2)]
        runnings = await asyncio.gather(*(_start(proc, port) for proc, port in engines))
        try:
            for running in runnings:
                await _assert_old_data_found(running, suffix)
            assert await redis.sismember("pyiii:migrations:stream", "stream-table-names-v2")
            migrated = [r for r in runnings if "old `<stream>:<group>` layout renamed" in r.proc.logs()]
            assert len(migrated) == 1  # one engine migrated, the other waited and found it done
        finally:
            await asyncio.gather(*(_stop(r) for r in runnings))
    finally:
        await redis.aclose()
        await _forget_redis_keys(f"stream:*{suffix}*")

