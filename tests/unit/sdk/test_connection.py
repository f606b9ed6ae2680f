"""Connect sequence, replay on reconnect, reattach, keepalive frames, state listeners."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from pyiii.sdk import (
    III,
    InitOptions,
    ReconnectionConfig,
    TriggerAction,
    TriggerConfig,
    TriggerHandler,
)
from tests.support.waiting import eventually, stays
from tests.unit.sdk.conftest import ClientFactory, FakeConn, FakeEngine, Frame


def is_metadata_call(frame: Frame) -> bool:
    return bool(frame["type"] == "invokefunction" and frame["function_id"] == "engine::workers::register")


class NoopProvider(TriggerHandler[Any]):
    async def register_trigger(self, config: TriggerConfig[Any]) -> None:
        pass

    async def unregister_trigger(self, config: TriggerConfig[Any]) -> None:
        pass


async def drop(conn: FakeConn, how: str) -> None:
    if how == "abort":
        conn.ws.transport.abort()
    else:
        await conn.ws.close(code=int(how))


@pytest.mark.asyncio
async def test_first_connect_sends_worker_metadata_and_no_reattach(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    client = await connect(worker_description="does things")
    conn = await engine.connection(0)
    frame = await conn.wait_for(is_metadata_call)
    assert frame["action"] == {"type": "void"}
    assert "invocation_id" not in frame
    data = frame["data"]
    assert data["runtime"] == "python"
    assert data["name"] == "test-worker"
    assert data["description"] == "does things"
    assert data["telemetry"]["framework"] == "pyiii"
    assert data["version"] == "0.1.0"
    assert isinstance(data["pid"], int)
    assert not any(f["type"] == "reattach" for f in conn.frames)
    await eventually(lambda: client.worker_id == conn.worker_id, what="workerregistered to land")
    assert client.get_connection_state() == "connected"


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["abort", "1000", "1001", "1011"])
async def test_reconnect_replays_everything_exactly_once_in_order(
    engine: FakeEngine, connect: ClientFactory, how: str
) -> None:
    client = await connect()
    first = await engine.connection(0)
    client.register_trigger_type({"id": "webhook", "description": "hooks"}, NoopProvider())
    client.register_function("svc::fn", lambda data: data)
    client.register_trigger({"type": "webhook", "function_id": "svc::fn", "config": {"path": "/x"}})
    await first.wait_for(lambda f: f["type"] == "registertrigger")
    await first.wait_for(is_metadata_call)
    await eventually(lambda: client.worker_id == first.worker_id, what="workerregistered to land")

    engine.reject = True  # keep the client offline until we queued a call
    await drop(first, how)
    await eventually(lambda: client.get_connection_state() != "connected", what="the client to see the drop")
    await asyncio.to_thread(
        client.trigger,
        {"function_id": "audit::log", "payload": None, "action": TriggerAction.Void()},
    )
    engine.reject = False

    second = await engine.connection(1)
    await second.wait_for(is_metadata_call)
    # Nothing after the metadata call: the replay goes out as one burst ahead of it, so a
    # duplicate would follow within milliseconds; 0.2 s is a wide margin.
    sent = len(second.frames)
    await stays(lambda: len(second.frames) == sent, 0.2, what="no frame after the metadata call")
    kinds = [
        f["type"] if f["type"] != "invokefunction" else f["function_id"] for f in second.frames
    ]
    assert kinds == [
        "reattach",
        "registertriggertype",
        "registerfunction",
        "registertrigger",
        "audit::log",
        "engine::workers::register",
    ]
    reattach = second.frames[0]
    assert reattach == {
        "type": "reattach",
        "previous_worker_id": first.worker_id,
        "reattach_token": first.reattach_token,
    }
    trigger = second.frames[3]
    assert trigger["config"] == {"path": "/x"}
    queued = second.frames[4]
    assert queued["data"] is None and "data" in queued  # always sent, null when None
    assert client.worker_id == second.worker_id


@pytest.mark.asyncio
async def test_concurrent_registrations_reach_each_connection_exactly_once(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    client = await connect()
    stop = threading.Event()

    def register_many() -> None:
        for i in range(150):
            client.register_function(f"svc::f{i}", lambda data: data)
            time.sleep(0.001)  # spread registrations over several connections
        stop.set()

    async def keep_dropping() -> int:
        index = 0
        while not stop.is_set():
            conn = await engine.connection(index)
            await asyncio.sleep(0.01)
            conn.ws.transport.abort()
            index += 1
        return index

    dropper = asyncio.create_task(keep_dropping())
    await asyncio.to_thread(register_many)
    dropped = await dropper
    assert dropped >= 2
    last = await engine.connection(dropped)  # the first connection nobody aborted
    def ids() -> Counter[str]:
        return Counter(f["id"] for f in last.frames if f["type"] == "registerfunction")

    await eventually(lambda: len(ids()) == 150, what="all 150 registrations on the last connection")
    # No duplicate follows: the replay is one burst and registrations after it go out once each;
    # a duplicate would come within milliseconds, 0.1 s is a wide margin.
    await stays(lambda: set(ids().values()) == {1}, 0.1, what="each registration once")
    counts = ids()
    assert len(counts) == 150
    assert set(counts.values()) == {1}
    for conn in engine.conns:  # no connection ever saw a duplicate
        per_conn = Counter(f["id"] for f in conn.frames if f["type"] == "registerfunction")
        assert not per_conn or max(per_conn.values()) == 1


@pytest.mark.asyncio
async def test_unregister_is_sent_and_not_replayed(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)
    ref = client.register_function("svc::gone", lambda data: data)
    trig = client.register_trigger({"type": "cron", "function_id": "svc::gone"})
    await conn.wait_for(lambda f: f["type"] == "registertrigger")
    trig.unregister()
    ref.unregister()
    await conn.wait_for(lambda f: f["type"] == "unregisterfunction" and f["id"] == "svc::gone")
    unreg = await conn.wait_for(lambda f: f["type"] == "unregistertrigger")
    assert unreg["trigger_type"] == "cron"
    registered = next(f for f in conn.frames if f["type"] == "registertrigger")
    assert registered["config"] is None  # config key always present
    conn.ws.transport.abort()
    second = await engine.connection(1)
    await second.wait_for(is_metadata_call)
    assert not any(f["type"].startswith("register") for f in second.frames)


@pytest.mark.asyncio
async def test_json_ping_is_answered(engine: FakeEngine, connect: ClientFactory) -> None:
    await connect()
    conn = await engine.connection(0)
    await conn.send({"type": "ping"})
    await conn.wait_for(lambda f: f["type"] == "pong")


@pytest.mark.asyncio
async def test_state_listener_sees_transitions_and_unsubscribes(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    client = await connect()
    seen: list[str] = []
    unsubscribe = client.add_connection_state_listener(seen.append)
    assert seen == ["connected"]
    engine.reject = True
    (await engine.connection(0)).ws.transport.abort()
    await eventually(lambda: "reconnecting" in seen, what="the reconnecting state")
    engine.reject = False
    await engine.connection(1)
    await eventually(lambda: seen[-1] == "connected", what="connected again")
    assert seen[:3] == ["connected", "disconnected", "reconnecting"]
    assert seen[-1] == "connected"
    unsubscribe()
    unsubscribe()  # idempotent
    count = len(seen)
    # A listener still subscribed shows when the next transitions have run (listeners are called
    # in turn, from the same place): the unsubscribed one would have been called by then.
    control: list[str] = []
    client.add_connection_state_listener(control.append)
    (await engine.connection(1)).ws.transport.abort()
    await engine.connection(2)
    await eventually(lambda: "disconnected" in control and control[-1] == "connected", what="reconnected")
    assert len(seen) == count


@pytest.mark.asyncio
async def test_gives_up_after_max_retries(engine: FakeEngine) -> None:
    engine.reject = True
    options = InitOptions(
        reconnection_config=ReconnectionConfig(initial_delay_ms=10, max_delay_ms=10, max_retries=2)
    )
    client = III(engine.url, options)
    try:
        with pytest.raises(ConnectionError):
            await asyncio.to_thread(client._wait_until_connected, 5.0)
        assert client.get_connection_state() == "failed"
    finally:
        await asyncio.to_thread(client.shutdown)
