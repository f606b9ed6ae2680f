"""iii-state and iii-stream with ``adapter: bridge``: the front engine forwards every operation to
the backend engine, which holds the data. Official iii-sdk workers on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from iii.errors import InvocationError

from tests.integration.bridge.support import Pair, start_pair
from tests.integration.state.kvsupport import call, sdk_worker, unique
from tests.integration.stream.wsclient import StreamClient
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = start_pair(tmp_path_factory.mktemp("bridge"))
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def workers(pair: Pair) -> Iterator[tuple[Any, Any]]:
    with sdk_worker(pair.front.url, "on-front") as front, sdk_worker(pair.backend.url, "on-backend") as back:
        yield front, back


def test_state_written_on_front_lives_on_backend(workers: tuple[Any, Any]) -> None:
    front, back = workers
    scope = unique("orders")
    assert call(front, "state::set", {"scope": scope, "key": "o1", "value": {"n": 1}}) == \
        {"old_value": None, "new_value": {"n": 1}}
    assert call(back, "state::get", {"scope": scope, "key": "o1"}) == {"n": 1}
    call(back, "state::set", {"scope": scope, "key": "o2", "value": {"n": 2}})
    assert call(front, "state::get", {"scope": scope, "key": "o2"}) == {"n": 2}
    result = call(front, "state::update", {"scope": scope, "key": "o1",
                                           "ops": [{"type": "increment", "path": "n", "by": 5}]})
    assert result == {"old_value": {"n": 1}, "new_value": {"n": 6}}
    assert sorted(call(front, "state::list", {"scope": scope}), key=lambda v: v["n"]) == [{"n": 2}, {"n": 6}]
    assert scope in call(front, "state::list_groups", {})["groups"]
    assert call(front, "state::delete", {"scope": scope, "key": "o2"}) == {"n": 2}
    assert call(back, "state::get", {"scope": scope, "key": "o2"}) is None
    # the backend's own errors come back with their code
    with pytest.raises(InvocationError) as info:
        call(front, "state::update", {"scope": scope, "key": "o1", "ops": "not a list"})
    assert info.value.code == "DESERIALIZATION_ERROR" or "deserial" in info.value.code.lower()


def test_state_triggers_fire_on_front_for_writes_through_it(workers: tuple[Any, Any]) -> None:
    front, _ = workers
    scope = unique("watched")
    seen: list[Any] = []
    front.register_function(f"{scope}::on_change", lambda event: seen.append(event))
    front.register_trigger({"type": "state", "function_id": f"{scope}::on_change", "config": {"scope": scope}})
    asyncio.run(eventually(lambda: _set_and_seen(front, scope, seen), what="state trigger on the front"))
    assert seen[-1]["event_type"] in ("state:created", "state:updated") and seen[-1]["scope"] == scope


def _set_and_seen(front: Any, scope: str, seen: list[Any]) -> bool:
    call(front, "state::set", {"scope": scope, "key": "k", "value": len(seen)})
    return bool(seen)


async def test_front_stream_clients_see_backend_events(pair: Pair, workers: tuple[Any, Any]) -> None:
    front, back = workers
    name = unique("live")
    client = await StreamClient.open(pair.front_stream_port)
    try:
        await asyncio.to_thread(call, back, "stream::set",
                                {"stream_name": name, "group_id": "g", "item_id": "before", "data": {"v": 0}})
        await client.join("s", name, "g")
        sync = await client.next()
        assert sync["event"] == {"type": "sync", "data": [{"v": 0}]}
        # a worker of the backend writes: the front's client gets it
        await asyncio.to_thread(call, back, "stream::set",
                                {"stream_name": name, "group_id": "g", "item_id": "i", "data": {"v": 1}})
        event = await client.next()
        assert (event["streamName"], event["groupId"], event["id"]) == (name, "g", "i")
        assert event["event"] == {"type": "create", "data": {"v": 1}}
        # a write through the front (stored on the backend) arrives once
        await asyncio.to_thread(call, front, "stream::update", {"stream_name": name, "group_id": "g", "item_id": "i",
                                                                "ops": [{"type": "set", "path": "v", "value": 2}]})
        assert (await client.next())["event"] == {"type": "update", "data": {"v": 2}}
        await asyncio.to_thread(call, front, "stream::send",
                                {"stream_name": name, "group_id": "g", "type": "ping", "data": 3})
        assert (await client.next())["event"] == {"type": "event", "event": {"type": "ping", "data": 3}}
        await asyncio.to_thread(call, front, "stream::delete", {"stream_name": name, "group_id": "g", "item_id": "i"})
        assert (await client.next())["event"] == {"type": "delete", "data": {"v": 2}}
        with pytest.raises(TimeoutError):  # nothing twice
            await client.next(timeout=0.5)
    finally:
        await client.close()
    assert await asyncio.to_thread(call, back, "stream::get", {"stream_name": name, "group_id": "g",
                                                               "item_id": "before"}) == {"v": 0}
    assert await asyncio.to_thread(call, front, "stream::list_groups", {"stream_name": name}) == ["g"]
    listed = await asyncio.to_thread(call, front, "stream::list_all", {})
    assert {"id": name, "groups": ["g"]} in listed["stream"]


async def test_backend_clients_see_front_writes(pair: Pair, workers: tuple[Any, Any]) -> None:
    front, _ = workers
    name = unique("back-live")
    client = await StreamClient.open(pair.backend_stream_port)
    try:
        await client.join("s", name, "g")
        assert (await client.next())["event"]["type"] == "sync"
        await asyncio.to_thread(call, front, "stream::set",
                                {"stream_name": name, "group_id": "g", "item_id": "x", "data": 1})
        assert (await client.next())["event"] == {"type": "create", "data": 1}
    finally:
        await client.close()


async def test_backend_restart_typed_error_then_reconnect(tmp_path: Path) -> None:
    """While the backend is down a call fails at once with bridge_unavailable (after
    connect_timeout_ms, never hanging); once it is back the front reconnects by itself, and its
    stream clients keep getting the backend's events (the remote trigger is registered again)."""
    p = start_pair(tmp_path)
    client = await StreamClient.open(p.front_stream_port)
    try:
        with sdk_worker(p.front.url, "front-restart") as front:
            await asyncio.to_thread(call, front, "state::set", {"scope": "r", "key": "k", "value": 1})
            await client.join("s", "restart", "g")
            assert (await client.next())["event"]["type"] == "sync"
            p.backend.stop()
            with pytest.raises(InvocationError) as info:
                await asyncio.to_thread(call, front, "state::get", {"scope": "r", "key": "k"})
            assert info.value.code == "bridge_unavailable"
            p.backend.start()  # same port, empty in-memory state
            await eventually(lambda: asyncio.to_thread(_get_ok, front), timeout=15, what="bridge reconnected")
            with sdk_worker(p.backend.url, "back-restart") as back:
                await eventually(lambda: _write_seen(back, client), timeout=15,
                                 what="front client sees backend writes after the restart")
    finally:
        await client.close()
        p.stop()


async def _write_seen(back: Any, client: StreamClient) -> bool:
    await asyncio.to_thread(call, back, "stream::set",
                            {"stream_name": "restart", "group_id": "g", "item_id": "after", "data": 1})
    try:
        event = await client.next(timeout=0.5)
    except TimeoutError:
        return False
    return bool(event["id"] == "after")


def _get_ok(front: Any) -> bool:
    try:
        return call(front, "state::get", {"scope": "r", "key": "k"}) is None
    except InvocationError:
        return False
