"""Two engine processes sharing one Redis: state is consistent between them and a stream write
on engine A reaches WebSocket clients connected to engine B."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.state.kvsupport import adapter_block, call, call_concurrently, sdk_worker, unique
from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port


@dataclass
class Node:
    proc: EngineProcess
    ws_port: int
    worker: Any


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    block = adapter_block("redis")
    procs = []
    for name in ("a", "b"):
        ws_port = free_port()
        proc = EngineProcess(tmp_path_factory.mktemp(name), workers=[
            {"name": "iii-state", "config": {"adapter": block}},
            {"name": "iii-stream", "config": {"adapter": block, "port": ws_port, "host": "127.0.0.1"}},
        ]).start()
        procs.append((proc, ws_port))
    try:
        with sdk_worker(procs[0][0].url, "on-a") as wa, sdk_worker(procs[1][0].url, "on-b") as wb:
            yield [Node(procs[0][0], procs[0][1], wa), Node(procs[1][0], procs[1][1], wb)]
    finally:
        for proc, _ in procs:
            proc.stop()


def test_state_is_shared_and_increments_exact_across_engines(nodes: list[Node]) -> None:
    a, b = nodes
    scope = unique("shared")
    call(a.worker, "state::set", {"scope": scope, "key": "k", "value": {"from": "a"}})
    assert call(b.worker, "state::get", {"scope": scope, "key": "k"}) == {"from": "a"}
    op = {"scope": scope, "key": "n", "ops": [{"type": "increment", "path": "hits", "by": 1}]}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda w: call_concurrently(w, [("state::update", op)] * 64), [a.worker, b.worker]))
    assert sum(len(d) for d in done) == 128
    assert call(a.worker, "state::get", {"scope": scope, "key": "n"}) == {"hits": 128}
    assert scope in call(b.worker, "state::list_groups", {})["groups"]


async def test_stream_write_on_a_reaches_client_on_b(nodes: list[Node]) -> None:
    a, b = nodes
    name = unique("fanout")
    on_b = await StreamClient.open(b.ws_port)
    on_a = await StreamClient.open(a.ws_port)
    try:
        await on_b.join("s", name, "g")
        await on_a.join("s", name, "g")
        assert (await on_b.next())["event"] == {"type": "sync", "data": []}
        assert (await on_a.next())["event"] == {"type": "sync", "data": []}
        await asyncio.to_thread(call, a.worker, "stream::set",
                                {"stream_name": name, "group_id": "g", "item_id": "i", "data": {"v": 1}})
        await asyncio.to_thread(call, b.worker, "stream::send",
                                {"stream_name": name, "group_id": "g", "type": "ping", "data": 2})
        for client in (on_b, on_a):
            first, second = await client.next(), await client.next()
            assert first["event"] == {"type": "create", "data": {"v": 1}} and first["id"] == "i"
            assert second["event"] == {"type": "event", "event": {"type": "ping", "data": 2}}
        # B's store sees A's write: a new subscriber on B syncs it
        late = await StreamClient.open(b.ws_port)
        try:
            await late.join("l", name, "g")
            assert (await late.next())["event"] == {"type": "sync", "data": [{"v": 1}]}
        finally:
            await late.close()
    finally:
        await on_a.close()
        await on_b.close()
