"""Attack: lock a group for everyone by storing one large item. After a 2 MB item (well under
what HTTP accepts), a browser-style client must still join the group and receive the whole
snapshot (paged into messages within the subscriber limits) and later large changes; an item over
``max_item_bytes`` is refused at write time with a typed error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port
from tests.support.wire import RawWorker

MB = 1000 * 1000
MAX_ITEM = 3 * 1024 * 1024


@dataclass
class Running:
    worker: RawWorker
    ws_port: int

    async def call(self, function_id: str, data: Any) -> dict[str, Any]:
        return await self.worker.call(function_id, data, timeout=20)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Running]:
    ws_port = free_port()
    config = {"port": ws_port, "host": "127.0.0.1", "max_item_bytes": MAX_ITEM,
              "adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}
    proc = EngineProcess(tmp_path, workers=[{"name": "iii-stream", "config": config}]).start()
    worker = await RawWorker.connect(proc.url)
    try:
        yield Running(worker, ws_port)
    finally:
        await worker.close()
        proc.stop()


async def _browser(port: int) -> StreamClient:
    # A browser takes messages of any size; the engine must not cut it off.
    return await StreamClient.open(port, max_size=None)


async def _group_state(client: StreamClient, count: int) -> dict[str, Any]:
    """Apply sync / create messages like the shipped browser client until ``count`` items."""
    items: dict[str, Any] = {}
    while len(items) < count:
        message = await client.next(timeout=20)
        event = message["event"]
        if event["type"] == "sync":
            items = {(v or {}).get("id", f"#{i}"): v for i, v in enumerate(event["data"])}
        elif event["type"] in ("create", "update"):
            items[message["id"]] = event["data"]
    return items


async def test_a_2mb_item_does_not_lock_its_group(engine: Running) -> None:
    big = {"id": "big", "blob": "x" * (2 * MB)}
    assert "error" not in await engine.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "big",
                                                            "data": big})
    for i in range(3):
        small = {"id": f"small{i}", "n": i}
        await engine.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": f"small{i}", "data": small})

    client = await _browser(engine.ws_port)
    try:
        await client.join("s1", "s", "g")
        items = await _group_state(client, 4)
        assert items["big"] == big and {k for k in items} == {"big", "small0", "small1", "small2"}

        # the item subscription and later large changes get through as well
        await client.join("s2", "s", "g", "big")
        single = await client.next(timeout=20)
        assert single["event"] == {"type": "sync", "data": big}
        bigger = {"id": "big", "blob": "y" * (2 * MB)}
        await engine.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "big", "data": bigger})
        changed = await client.next(timeout=20)
        assert changed["event"] == {"type": "update", "data": bigger}
    finally:
        await client.close()


async def test_an_item_over_max_item_bytes_is_refused_with_a_typed_error(engine: Running) -> None:
    huge = "x" * (MAX_ITEM + 1)
    for function_id, payload in [
        ("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "h", "data": huge}),
        ("stream::update", {"stream_name": "s", "group_id": "g", "item_id": "h",
                            "ops": [{"type": "set", "path": "", "value": huge}]}),
        ("stream::send", {"stream_name": "s", "group_id": "g", "type": "t", "data": huge}),
    ]:
        frame = await engine.call(function_id, payload)
        assert frame["error"]["code"] == "STREAM_ITEM_TOO_LARGE", (function_id, frame)
    missing = await engine.call("stream::get", {"stream_name": "s", "group_id": "g", "item_id": "h"})
    assert missing.get("result") is None
