"""Malformed, hostile and conflicting input from raw WebSocket clients (spec §1.3, §1.6, §2, §3.1,
§1.7, §5.2). Every case checks both the refusal and that the engine keeps serving."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.core.conftest import MAX_FRAME_BYTES, RawWorker, wait_log
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually


def new_id() -> str:
    return str(uuid.uuid4())


def fid(prefix: str) -> str:
    return f"{prefix}::{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- undecodable frames

GARBAGE: list[tuple[str, str | bytes]] = [
    ("invalid-json", '{"type": "ping"'),
    ("not-json-at-all", "hello engine"),
    ("invalid-json-binary", b"\xff\xfe\x00garbage"),
    ("array", '[{"type": "ping"}]'),
    ("string", '"ping"'),
    ("number", "42"),
    ("null", "null"),
    ("unknown-type", '{"type": "explode", "id": "x"}'),
    ("tag-is-case-sensitive", '{"type": "PING"}'),
    ("missing-type", '{"id": "orders::create"}'),
    ("type-not-a-string", '{"type": 7}'),
    ("registerfunction-missing-id", '{"type": "registerfunction"}'),
    ("registerfunction-id-not-string", '{"type": "registerfunction", "id": 123}'),
    (
        "registerfunction-bad-http-method",
        '{"type": "registerfunction", "id": "x::y", "invocation": {"url": "http://a", "method": "TRACE"}}',
    ),
    ("registertrigger-missing-fields", '{"type": "registertrigger", "id": "t1"}'),
    (
        "registertrigger-type-not-string",
        '{"type": "registertrigger", "id": "t1", "trigger_type": 5, "function_id": "f", "config": {}}',
    ),
    ("invokefunction-without-id-and-function", '{"type": "invokefunction", "data": {}}'),
    ("invocationresult-missing-id", '{"type": "invocationresult", "function_id": "f", "result": 1}'),
    ("reattach-wrong-types", '{"type": "reattach", "previous_worker_id": 5}'),
]


@pytest.mark.parametrize("frame", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
async def test_undecodable_frame_is_dropped_and_logged(
    limited_engine: EngineProcess, raw: Any, frame: str | bytes
) -> None:
    w: RawWorker = await raw()
    before = limited_engine.logs().count("dropped frame")
    await w.send(frame)
    await w.sync()
    # Nothing but the pong came back: no error reply, no close.
    assert w.inbox == []
    await eventually(lambda: limited_engine.logs().count("dropped frame") > before, 5, 0.05,
                     what=f"a 'dropped frame' log line for {frame!r}")
    # The connection still works for real traffic.
    call = new_id()
    await w.call("engine::functions::list", {}, call)
    assert "functions" in (await w.result(call))["result"]


async def test_blank_frames_are_ignored(raw: Any) -> None:
    w: RawWorker = await raw()
    await w.send("")
    await w.send("   \n\t ")
    await w.sync()
    assert w.inbox == []


@pytest.mark.parametrize(
    ("extra", "reply_function_id"),
    [
        ({"function_id": 123, "data": {}}, ""),
        ({"function_id": "x::y", "data": {}, "action": {"type": "bogus"}}, "x::y"),
        ({"function_id": "x::y", "data": {}, "action": {"type": "enqueue"}}, "x::y"),
        ({"function_id": "x::y", "data": {}, "traceparent": 5}, "x::y"),
        ({"data": {}}, ""),
    ],
    ids=[
        "function-id-not-string",
        "unknown-action",
        "enqueue-without-queue",
        "traceparent-not-string",
        "missing-function-id",
    ],
)
async def test_invoke_with_id_but_bad_fields_gets_invalid_frame(
    raw: Any, extra: dict[str, Any], reply_function_id: str
) -> None:
    """The caller is waiting on that id: it gets a typed error instead of a timeout."""
    w: RawWorker = await raw()
    invocation_id = new_id()
    await w.send({"type": "invokefunction", "invocation_id": invocation_id, **extra})
    reply = await w.result(invocation_id)
    assert reply["error"]["code"] == "invalid_frame"
    assert reply["error"]["message"]
    assert reply["function_id"] == reply_function_id
    assert "result" not in reply
    await w.sync()


# --------------------------------------------------------------------------- invocation results


async def test_unknown_and_spoofed_results_are_ignored(raw: Any) -> None:
    """Worker B answers an invocation that was sent to worker A: the engine ignores it (and a
    result for an id nobody issued); A's genuine answer is what the caller receives, once."""
    owner_a: RawWorker = await raw()
    spoofer_b: RawWorker = await raw()
    caller: RawWorker = await raw()
    function_id = fid("spoof")
    await owner_a.register(function_id)

    invocation_id = new_id()
    await caller.call(function_id, {"q": 1}, invocation_id)
    inv = await owner_a.invocation(function_id)
    assert inv["invocation_id"] == invocation_id
    assert inv["data"] == {"q": 1, "_caller_worker_id": caller.worker_id}

    # B learned the id somehow and answers first; also answers an id that was never issued.
    await spoofer_b.send(
        {"type": "invocationresult", "invocation_id": invocation_id, "function_id": function_id, "result": "spoofed"}
    )
    await spoofer_b.send(
        {
            "type": "invocationresult",
            "invocation_id": new_id(),
            "function_id": function_id,
            "error": {"code": "x", "message": "unknown id"},
        }
    )
    await spoofer_b.sync()  # both results have been processed (and must have been dropped)
    await owner_a.send(
        {
            "type": "invocationresult",
            "invocation_id": new_id(),
            "function_id": function_id,
            "result": "unknown id from the owner",
        }
    )
    await owner_a.answer(inv, {"answer": "genuine"})

    reply = await caller.result(invocation_id)
    assert reply["result"] == {"answer": "genuine"}
    assert "error" not in reply
    # No second result for that id follows (the genuine one completed the call).
    await owner_a.answer(inv, "late duplicate")
    await owner_a.sync()
    await caller.sync()
    assert [f for f in caller.inbox if f.get("type") == "invocationresult"] == []


# --------------------------------------------------------------------------- frame size


async def test_oversized_frame_closes_with_1009_only_that_connection(raw: Any) -> None:
    big: RawWorker = await raw()
    other: RawWorker = await raw()
    # Just under the limit is fine.
    near = {"type": "registerfunction", "id": fid("size"), "description": "d" * (MAX_FRAME_BYTES - 200)}
    assert len(json.dumps(near)) < MAX_FRAME_BYTES
    await big.send(near)
    await big.sync()

    await big.send(json.dumps({"type": "registerfunction", "id": fid("size"), "description": "x" * MAX_FRAME_BYTES}))
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(big.ws.recv(), 5)
    assert big.ws.close_code == 1009
    # The other connection is unaffected, and new ones are accepted.
    await other.sync()
    fresh: RawWorker = await raw()
    await fresh.sync()


# --------------------------------------------------------------------------- ownership


async def test_two_workers_claim_one_function_id(raw: Any) -> None:
    """Last writer wins; the first owner's disconnect does not remove it; the second's does,
    and the first one's registration is not restored."""
    first: RawWorker = await raw()
    second: RawWorker = await raw()
    caller: RawWorker = await raw()
    function_id = fid("claimed")
    await first.announce("claim-first")
    await first.register(function_id)
    await second.register(function_id)
    assert first.worker_id in await caller.worker_ids()

    async def call_routes_to(owner: RawWorker) -> None:
        invocation_id = new_id()
        await caller.call(function_id, {"n": 1}, invocation_id)
        inv = await owner.invocation(function_id)
        await owner.answer(inv, {"served_by": owner.worker_id})
        assert (await caller.result(invocation_id))["result"] == {"served_by": owner.worker_id}

    await call_routes_to(second)
    assert not [f for f in first.inbox if f.get("type") == "invokefunction"]

    # The first (overwritten) owner unregisters and leaves: no effect on the second's function.
    await first.send({"type": "unregisterfunction", "id": function_id})
    await first.sync()
    await first.close()
    await caller.until_gone(first.worker_id)  # the first worker's disconnect cleanup has run
    await call_routes_to(second)

    await second.announce("claim-second")
    await second.close()
    await caller.until_gone(second.worker_id)
    invocation_id = new_id()
    await caller.call(function_id, {}, invocation_id)
    assert (await caller.result(invocation_id))["error"]["code"] == "function_not_found"


async def test_unregister_by_owner_removes_function(raw: Any) -> None:
    owner: RawWorker = await raw()
    function_id = fid("unreg")
    await owner.register(function_id)
    await owner.send({"type": "unregisterfunction", "id": function_id})
    invocation_id = new_id()
    await owner.call(function_id, {}, invocation_id)
    assert (await owner.result(invocation_id))["error"]["code"] == "function_not_found"


# --------------------------------------------------------------------------- handshake and routes


@pytest.mark.parametrize("sent", [b"", b"GET / HTTP/1.1\r\nHost: localhost\r\n"], ids=["silent", "partial-headers"])
async def test_stalled_handshake_is_closed(limited_engine: EngineProcess, raw: Any, sent: bytes) -> None:
    """handshake_timeout_ms=500: a socket that never completes the upgrade is closed by the
    engine well within 2 s, while other connections keep working."""
    reader, writer = await asyncio.open_connection("127.0.0.1", limited_engine.port)
    started = time.monotonic()
    try:
        if sent:
            writer.write(sent)
            await writer.drain()
        live: RawWorker = await raw()
        await live.sync()
        try:
            data = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            data = b""
        elapsed = time.monotonic() - started
        assert not data.startswith(b"HTTP/1.1 101"), data
        assert elapsed < 2.0, f"stalled socket closed after {elapsed:.2f}s"
        assert elapsed >= 0.3, f"closed after {elapsed:.2f}s: sooner than handshake_timeout_ms"
        await live.sync()
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/nope", "/ws", "/otel/extra", "/ws/channels/", "/ws/channels", "//"])
async def test_unknown_path_is_404(limited_engine: EngineProcess, path: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(f"{limited_engine.url}{path}")
    assert info.value.response.status_code == 404


async def test_known_paths_upgrade(limited_engine: EngineProcess) -> None:
    async with connect(f"{limited_engine.url}/?token=abc&x=1") as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "workerregistered"
    async with connect(f"{limited_engine.url}/otel") as ws:
        await ws.send(b"OTLP{}")
        await ws.ping()
        with pytest.raises(TimeoutError):  # /otel never sends protocol frames
            await asyncio.wait_for(ws.recv(), 0.3)


async def test_bad_channel_refs_are_404(limited_engine: EngineProcess, raw: Any) -> None:
    w: RawWorker = await raw()
    invocation_id = new_id()
    await w.call("engine::channels::create", {}, invocation_id)
    refs = (await w.result(invocation_id))["result"]
    cid, key = refs["reader"]["channel_id"], refs["reader"]["access_key"]
    base = f"{limited_engine.url}/ws/channels"
    for url in (
        f"{base}/{cid}?key=wrong-{key}&dir=read",
        f"{base}/{cid}?key=&dir=read",
        f"{base}/{cid}?dir=read",
        f"{base}/{uuid.uuid4()}?key={key}&dir=read",
        f"{base}/{cid}?key={key}&dir=sideways",
        f"{base}/{cid}?key={key}",
    ):
        with pytest.raises(InvalidStatus) as info:
            await connect(url)
        assert info.value.response.status_code == 404, url
    # The right key still works after all the failed attempts.
    async with connect(f"{base}/{cid}?key={key}&dir=write") as writer:
        await writer.send("ok")
    async with connect(f"{base}/{cid}?key={key}&dir=read") as reader:
        assert await asyncio.wait_for(reader.recv(), 5) == "ok"


# --------------------------------------------------------------------------- reattach


async def test_reattach_with_wrong_token_is_ignored(raw: Any) -> None:
    victim: RawWorker = await raw()
    attacker: RawWorker = await raw()
    function_id = fid("victim")
    await victim.register(function_id)

    for frame in (
        {"type": "reattach", "previous_worker_id": victim.worker_id, "reattach_token": "not-the-token"},
        {"type": "reattach", "previous_worker_id": victim.worker_id},
        {"type": "reattach", "previous_worker_id": victim.worker_id, "reattach_token": attacker.reattach_token},
        {"type": "reattach", "previous_worker_id": attacker.worker_id, "reattach_token": attacker.reattach_token},
        {"type": "reattach", "previous_worker_id": str(uuid.uuid4()), "reattach_token": victim.reattach_token},
    ):
        await attacker.send(frame)
    await attacker.sync()

    # The victim is still connected and still owns its function.
    await victim.sync()
    invocation_id = new_id()
    await attacker.call(function_id, {}, invocation_id)
    inv = await victim.invocation(function_id)
    await victim.answer(inv, "still mine")
    assert (await attacker.result(invocation_id))["result"] == "still mine"


async def test_reattach_with_right_token_retires_the_old_connection_before_the_replay(raw: Any) -> None:
    old: RawWorker = await raw()
    caller: RawWorker = await raw()
    shared_fn, old_only_fn = fid("replayed"), fid("old-only")
    await old.register(shared_fn)
    await old.register(old_only_fn)
    # A call in flight on the old connection is failed by its cleanup.
    waiting = new_id()
    await caller.call(old_only_fn, {}, waiting)
    await old.invocation(old_only_fn)

    await old.announce("reattach-old")
    new: RawWorker = await raw()
    # Reattach and replay in one burst, as the SDKs do on reconnect.
    # The call right behind the reattach must already see the old connection's functions gone.
    probe = new_id()
    await new.send({"type": "reattach", "previous_worker_id": old.worker_id, "reattach_token": old.reattach_token})
    await new.call(old_only_fn, {}, probe)
    await new.send({"type": "registerfunction", "id": shared_fn})
    await new.sync()
    assert (await new.result(probe))["error"]["code"] == "function_not_found"

    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(old.ws.recv(), 5)
    assert (await caller.result(waiting))["error"]["code"] == "invocation_stopped"
    assert old.worker_id not in await caller.worker_ids()

    # The replayed registration survived the old connection's cleanup and routes to `new`.
    invocation_id = new_id()
    await caller.call(shared_fn, {"x": 1}, invocation_id)
    inv = await new.invocation(shared_fn)
    await new.answer(inv, "from the new connection")
    assert (await caller.result(invocation_id))["result"] == "from the new connection"
    # What the old connection registered and nobody replayed is gone.
    invocation_id = new_id()
    await caller.call(old_only_fn, {}, invocation_id)
    assert (await caller.result(invocation_id))["error"]["code"] == "function_not_found"
    # The new connection keeps its own id: the old token is spent.
    again: RawWorker = await raw()
    await again.send({"type": "reattach", "previous_worker_id": new.worker_id, "reattach_token": old.reattach_token})
    await again.sync()
    await new.sync()


async def test_log_names_the_reason(limited_engine: EngineProcess, raw: Any) -> None:
    w: RawWorker = await raw()
    marker = f"explode-{uuid.uuid4().hex[:6]}"
    await w.send({"type": marker})
    await w.sync()
    logs = await wait_log(limited_engine, marker)
    line = next(line for line in logs.splitlines() if marker in line)
    assert "WARNING" in line
