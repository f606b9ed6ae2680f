"""Calls this worker makes: trigger/trigger_async, actions, errors, timeouts, tracing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii.sdk import InvocationError, TriggerAction, TriggerActionEnqueue, TriggerActionVoid
from tests.unit.sdk.conftest import ClientFactory, FakeConn, FakeEngine, Frame

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def answer(result: Any = None, error: Any = None) -> Any:
    """An ``on_frame`` hook replying to every call the worker makes (except metadata)."""

    async def hook(conn: FakeConn, frame: Frame) -> None:
        if frame["type"] != "invokefunction" or not frame.get("invocation_id"):
            return
        reply: Frame = {
            "type": "invocationresult",
            "invocation_id": frame["invocation_id"],
            "function_id": frame["function_id"],
        }
        if error is not None:
            reply["error"] = error
        else:
            reply["result"] = result(frame) if callable(result) else result
        await conn.send(reply)

    return hook


@pytest.mark.asyncio
async def test_sync_trigger_roundtrip_and_wire_shape(engine: FakeEngine, connect: ClientFactory) -> None:
    engine.on_frame = answer(lambda f: {"echo": f["data"]})
    client = await connect()
    conn = await engine.connection(0)
    out = await asyncio.to_thread(
        client.trigger, {"function_id": "svc::echo", "payload": {"x": 1}, "metadata": {"m": 1}}
    )
    assert out == {"echo": {"x": 1}}
    frame = await conn.wait_for(lambda f: f.get("function_id") == "svc::echo")
    assert frame["metadata"] == {"m": 1}
    assert "action" not in frame and frame["invocation_id"]
    none_payload = await asyncio.to_thread(client.trigger, {"function_id": "svc::echo"})
    assert none_payload == {"echo": None}
    frames = [f for f in conn.frames if f.get("function_id") == "svc::echo"]
    assert "data" in frames[1] and frames[1]["data"] is None


@pytest.mark.asyncio
async def test_void_and_enqueue_actions(engine: FakeEngine, connect: ClientFactory) -> None:
    engine.on_frame = answer({"messageReceiptId": "r-1"})
    client = await connect()
    conn = await engine.connection(0)
    assert isinstance(TriggerAction.Void(), TriggerActionVoid)
    assert TriggerAction.Enqueue(queue="jobs") == TriggerActionEnqueue(queue="jobs")
    void = await asyncio.to_thread(
        client.trigger, {"function_id": "n::v", "payload": {}, "action": TriggerAction.Void()}
    )
    assert void is None
    frame = await conn.wait_for(lambda f: f.get("function_id") == "n::v")
    assert frame["action"] == {"type": "void"} and "invocation_id" not in frame
    receipt = await asyncio.to_thread(
        client.trigger,
        {"function_id": "n::q", "payload": {}, "action": {"type": "enqueue", "queue": "jobs"}},
    )
    assert receipt == {"messageReceiptId": "r-1"}
    frame = await conn.wait_for(lambda f: f.get("function_id") == "n::q")
    assert frame["action"] == {"type": "enqueue", "queue": "jobs"}


@pytest.mark.asyncio
async def test_remote_error_becomes_invocation_error(engine: FakeEngine, connect: ClientFactory) -> None:
    engine.on_frame = answer(error={"code": "FORBIDDEN", "message": "nope", "stacktrace": "tb"})
    client = await connect()
    with pytest.raises(InvocationError) as info:
        await asyncio.to_thread(client.trigger, {"function_id": "x::y", "payload": 1})
    err = info.value
    assert (err.code, err.message, err.function_id, err.stacktrace) == ("FORBIDDEN", "nope", "x::y", "tb")
    assert err.invocation_id
    assert str(err) == "FORBIDDEN: nope"


@pytest.mark.asyncio
async def test_timeout(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    with pytest.raises(InvocationError) as info:
        await asyncio.to_thread(client.trigger, {"function_id": "slow::fn", "timeout_ms": 100})
    assert info.value.code == "TIMEOUT"
    assert info.value.message == "invocation timed out after 100ms"
    assert info.value.function_id == "slow::fn"


@pytest.mark.asyncio
async def test_shutdown_fails_pending_calls(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)
    call = asyncio.create_task(asyncio.to_thread(client.trigger, {"function_id": "never::answers"}))
    await conn.wait_for(lambda f: f.get("function_id") == "never::answers")
    await asyncio.to_thread(client.shutdown)
    with pytest.raises(InvocationError) as info:
        await call
    assert info.value.code == "SHUTDOWN"


@pytest.mark.asyncio
async def test_trigger_async_from_handler_propagates_trace(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    engine.on_frame = answer(lambda f: {"inner": f["data"]["v"]})
    client = await connect()
    conn = await engine.connection(0)

    async def outer(data: Any) -> Any:
        return await client.trigger_async({"function_id": "svc::inner", "payload": {"v": data["v"]}})

    def outer_sync(data: Any) -> Any:
        return client.trigger({"function_id": "svc::inner", "payload": {"v": data["v"]}})

    client.register_function("svc::outer", outer)
    client.register_function("svc::outer_sync", outer_sync)
    await conn.wait_count(lambda f: f["type"] == "registerfunction", 2)
    for fid, value in (("svc::outer", 7), ("svc::outer_sync", 8)):
        inv = await conn.invoke(fid, {"v": value}, traceparent=TRACEPARENT, baggage="tenant=acme")
        assert (await conn.result_of(inv))["result"] == {"inner": value}
        inner = await conn.wait_for(
            lambda f, value=value: f.get("function_id") == "svc::inner" and f["data"] == {"v": value}
        )
        assert inner["traceparent"] == TRACEPARENT
        assert inner["baggage"] == "tenant=acme"
    # Outside any invocation no trace context leaks.
    await asyncio.to_thread(client.trigger, {"function_id": "svc::inner", "payload": {"v": 0}})
    plain = await conn.wait_for(lambda f: f.get("function_id") == "svc::inner" and f["data"] == {"v": 0})
    assert "traceparent" not in plain


@pytest.mark.asyncio
async def test_sync_trigger_on_loop_thread_raises(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)

    async def misuse(data: Any) -> Any:
        return client.trigger({"function_id": "x"})

    client.register_function("svc::misuse", misuse)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    result = await conn.result_of(await conn.invoke("svc::misuse", {}))
    assert result["error"]["code"] == "invocation_failed"
    assert "event loop thread" in result["error"]["message"]


@pytest.mark.asyncio
async def test_trigger_async_from_foreign_loop(engine: FakeEngine, connect: ClientFactory) -> None:
    engine.on_frame = answer(42)
    client = await connect()
    assert await client.trigger_async({"function_id": "svc::answer"}) == 42


@pytest.mark.asyncio
async def test_shutdown_async_from_foreign_loop(engine: FakeEngine) -> None:
    from pyiii.sdk import III, InitOptions

    client = III(engine.url, InitOptions())
    await client.connect_async()
    assert client.get_connection_state() == "connected"
    await client.shutdown_async()
    await asyncio.to_thread(client._thread.join, 5)
    assert not client._thread.is_alive()
    assert client.get_connection_state() == "disconnected"
