"""Every stream function through the official Python SDK, on every adapter, and what
WebSocket subscribers see."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.state.kvsupport import ADAPTERS, adapter_block, call, call_concurrently, sdk_worker, unique
from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port


@dataclass
class Setup:
    worker: Any
    ws_port: int


@pytest.fixture(scope="module", params=ADAPTERS)
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    block = adapter_block(request.param)
    ws_port = free_port()
    proc = EngineProcess(tmp_path_factory.mktemp(request.param), workers=[
        {"name": "iii-stream", "config": {"adapter": block, "port": ws_port, "host": "127.0.0.1"}}]).start()
    try:
        with sdk_worker(proc.url) as w:
            yield Setup(w, ws_port)
    finally:
        proc.stop()


def test_function_shapes(setup: Setup) -> None:
    w, name = setup.worker, unique("chat")
    item = {"stream_name": name, "group_id": "room", "item_id": "m1"}
    assert call(w, "stream::get", item) is None
    assert call(w, "stream::set", {**item, "data": {"t": "hi"}}) == {"old_value": None, "new_value": {"t": "hi"}}
    assert call(w, "stream::set", {**item, "data": {"t": "yo"}}) == {"old_value": {"t": "hi"}, "new_value": {"t": "yo"}}
    call(w, "stream::set", {**item, "item_id": "m2", "data": 2})
    call(w, "stream::set", {**item, "group_id": "lobby", "data": 3})
    assert call(w, "stream::get", item) == {"t": "yo"}
    assert call(w, "stream::list", {"stream_name": name, "group_id": "room"}) == [{"t": "yo"}, 2]
    assert call(w, "stream::list_groups", {"stream_name": name}) == ["lobby", "room"]
    listing = call(w, "stream::list_all", {})
    assert {"id": name, "groups": ["lobby", "room"]} in listing["stream"] and listing["count"] >= 1
    updated = call(w, "stream::update", {**item, "ops": [{"type": "merge", "value": {"seen": True}},
                                                         {"type": "merge", "value": 5}]})
    assert updated["new_value"] == {"t": "yo", "seen": True}
    assert updated["errors"][0]["code"] == "merge.value.not_an_object"
    assert call(w, "stream::delete", item) == {"old_value": {"t": "yo", "seen": True}}
    assert call(w, "stream::delete", item) == {"old_value": None}
    assert call(w, "stream::send", {"stream_name": name, "group_id": "room", "type": "typing", "data": 1}) is None


def test_64_concurrent_updates_are_exact(setup: Setup) -> None:
    name = unique("counter")
    op = {"stream_name": name, "group_id": "g", "item_id": "i", "ops": [{"type": "increment", "path": "n", "by": 1}]}
    call_concurrently(setup.worker, [("stream::update", op)] * 64)
    assert call(setup.worker, "stream::get", {"stream_name": name, "group_id": "g", "item_id": "i"}) == {"n": 64}


@pytest.mark.parametrize(("function_id", "payload"), [
    ("stream::set", {"group_id": "g", "item_id": "i", "data": 1}),
    ("stream::get", {"stream_name": "s", "group_id": 3, "item_id": "i"}),
    ("stream::list_groups", {}),
    ("stream::update", {"stream_name": "s", "group_id": "g", "item_id": "i", "ops": [{"type": "nope"}]}),
    ("stream::send", {"stream_name": "s", "group_id": "g"}),
])
def test_bad_input_gets_a_typed_error(setup: Setup, function_id: str, payload: Any) -> None:
    from iii import InvocationError

    with pytest.raises(InvocationError) as info:
        call(setup.worker, function_id, payload)
    assert info.value.code == "deserialization_error"


async def test_subscriber_sees_sync_then_changes(setup: Setup) -> None:
    w, name = setup.worker, unique("live")
    await asyncio.to_thread(call, w, "stream::set", {"stream_name": name, "group_id": "g", "item_id": "a", "data": 1})
    group = await StreamClient.open(setup.ws_port)
    single = await StreamClient.open(setup.ws_port)
    try:
        await group.join("s1", name, "g")
        sync = await group.next()
        assert sync["type"] == "stream" and sync["streamName"] == name and sync["groupId"] == "g"
        assert sync["event"] == {"type": "sync", "data": [1]} and sync["id"] is None
        await single.join("s2", name, "g", "b")
        assert (await single.next())["event"] == {"type": "sync", "data": None}

        def writes() -> None:
            base = {"stream_name": name, "group_id": "g"}
            call(w, "stream::set", {**base, "item_id": "a", "data": 2})
            call(w, "stream::set", {**base, "item_id": "b", "data": {"v": 1}})
            call(w, "stream::update", {**base, "item_id": "b", "ops": [{"type": "increment", "path": "v", "by": 1}]})
            call(w, "stream::delete", {**base, "item_id": "b"})
            call(w, "stream::send", {**base, "type": "typing", "data": {"who": "x"}})
            call(w, "stream::send", {**base, "id": "b", "type": "poke", "data": None})

        await asyncio.to_thread(writes)
        seen = [(e["id"], e["event"]) for e in [await group.next() for _ in range(6)]]
        assert seen == [
            ("a", {"type": "update", "data": 2}),
            ("b", {"type": "create", "data": {"v": 1}}),
            ("b", {"type": "update", "data": {"v": 2}}),
            ("b", {"type": "delete", "data": {"v": 2}}),
            (None, {"type": "event", "event": {"type": "typing", "data": {"who": "x"}}}),
            ("b", {"type": "event", "event": {"type": "poke", "data": None}}),
        ]
        only_b = [(e["id"], e["event"]["type"]) for e in [await single.next() for _ in range(4)]]
        assert only_b == [("b", "create"), ("b", "update"), ("b", "delete"), ("b", "event")]
        await group.leave("s1", name, "g")
        again = {"stream_name": name, "group_id": "g", "item_id": "b", "data": 0}
        await asyncio.to_thread(call, w, "stream::set", again)
        assert (await single.next())["event"]["type"] == "create"
        with pytest.raises(asyncio.TimeoutError):
            await group.next(timeout=0.3)  # left: nothing more for this client
    finally:
        await group.close()
        await single.close()


def test_stream_trigger_filters(setup: Setup) -> None:
    w, name = setup.worker, unique("trig")
    seen: queue.Queue[dict[str, Any]] = queue.Queue()
    w.register_function("test::on_stream", lambda event: seen.put(event))
    config = {"stream_name": name, "group_id": "g"}
    w.register_trigger({"type": "stream", "function_id": "test::on_stream", "config": config})
    call(w, "engine::functions::list", {})
    call(w, "stream::set", {"stream_name": name, "group_id": "other", "item_id": "x", "data": 0})
    call(w, "stream::set", {"stream_name": name, "group_id": "g", "item_id": "x", "data": 1})
    event = seen.get(timeout=10)
    assert event["streamName"] == name and event["groupId"] == "g" and event["event"] == {"type": "create", "data": 1}
    assert seen.empty()
