"""Invocations the engine sends to this worker: handlers, pool, metadata, errors, void."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.support.waiting import stays
from tests.unit.sdk.conftest import ClientFactory, FakeEngine


@pytest.mark.asyncio
async def test_sync_and_async_handlers_return_results(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)

    def double(data: dict[str, int]) -> dict[str, int]:
        return {"n": data["n"] * 2}

    async def triple(data: dict[str, int]) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"n": data["n"] * 3}

    client.register_function("math::double", double)
    client.register_function("math::triple", triple)
    client.register_function("math::nothing", lambda data: None)
    await conn.wait_count(lambda f: f["type"] == "registerfunction", 3)

    r1 = await conn.result_of(await conn.invoke("math::double", {"n": 2}))
    r2 = await conn.result_of(await conn.invoke("math::triple", {"n": 2}))
    r3 = await conn.result_of(await conn.invoke("math::nothing", {}))
    assert r1["result"] == {"n": 4} and "error" not in r1
    assert r1["function_id"] == "math::double"
    assert r2["result"] == {"n": 6}
    assert "result" not in r3 and "error" not in r3  # None result is omitted


@pytest.mark.asyncio
async def test_sync_handlers_run_on_a_bounded_pool(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect(sync_handler_workers=4)
    conn = await engine.connection(0)
    lock = threading.Lock()
    active = 0
    peak = 0
    names: set[str] = set()

    def slow(data: Any) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
            names.add(threading.current_thread().name)
        time.sleep(0.02)
        with lock:
            active -= 1
        return threading.current_thread().name

    client.register_function("pool::slow", slow)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    threads_before = threading.active_count()
    ids = [await conn.invoke("pool::slow", {"i": i}) for i in range(50)]
    results = await asyncio.gather(*(conn.result_of(i) for i in ids))
    assert all("result" in r for r in results)
    assert peak <= 4
    assert len(names) <= 4
    assert all(name.startswith("pyiii-handler") for name in names)
    assert threading.active_count() <= threads_before + 4


@pytest.mark.asyncio
async def test_metadata_only_reaches_handlers_that_ask_for_it(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    client = await connect()
    conn = await engine.connection(0)
    seen: dict[str, Any] = {}

    def positional(data: Any, metadata: Any = None) -> None:
        seen["positional"] = metadata

    async def keyword(data: Any, *, metadata: Any = None) -> None:
        seen["keyword"] = metadata

    def extra_param(data: Any, other: Any = "default") -> None:
        seen["extra"] = other

    client.register_function("m::pos", positional)
    client.register_function("m::kw", keyword)
    client.register_function("m::extra", extra_param)
    await conn.wait_count(lambda f: f["type"] == "registerfunction", 3)
    for fid in ("m::pos", "m::kw", "m::extra"):
        await conn.result_of(await conn.invoke(fid, {}, metadata={"route": "public"}))
    assert seen == {"positional": {"route": "public"}, "keyword": {"route": "public"}, "extra": "default"}


@pytest.mark.asyncio
async def test_handler_errors_and_unknown_functions(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)

    def boom(data: Any) -> None:
        raise ValueError("out of stock")

    client.register_function("orders::boom", boom)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    failed = await conn.result_of(await conn.invoke("orders::boom", {}))
    assert failed["error"]["code"] == "invocation_failed"
    assert failed["error"]["message"] == "out of stock"
    assert "ValueError" in failed["error"]["stacktrace"]
    assert "result" not in failed

    missing = await conn.result_of(await conn.invoke("orders::nope", {}))
    assert missing["error"]["code"] == "function_not_found"


@pytest.mark.asyncio
async def test_invocation_without_id_runs_and_sends_nothing(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    client = await connect()
    conn = await engine.connection(0)
    ran = threading.Event()
    def audit(data: Any) -> dict[str, bool]:
        ran.set()
        return {"ignored": True}

    client.register_function("audit::log", audit)
    await conn.wait_for(lambda f: f["type"] == "registerfunction")
    await conn.send({"type": "invokefunction", "function_id": "audit::log", "data": {"a": 1}})
    assert await asyncio.to_thread(ran.wait, 5)
    # A result would be sent as soon as the handler returns (it has): within milliseconds, so
    # 0.1 s without one is a wide margin.
    await stays(lambda: not any(f["type"] == "invocationresult" for f in conn.frames), 0.1,
                what="no invocationresult for a call without an id")


@pytest.mark.asyncio
async def test_http_invoked_function_registration(engine: FakeEngine, connect: ClientFactory) -> None:
    from pyiii.sdk import HttpAuthBearer, HttpInvocationConfig

    client = await connect()
    conn = await engine.connection(0)
    client.register_function(
        "billing::charge",
        HttpInvocationConfig(
            url="https://billing.example.com/charge",
            timeout_ms=15000,
            headers={"x-team": "billing"},
            auth=HttpAuthBearer(token_key="BILLING_TOKEN"),
        ),
        description="Charge",
    )
    frame = await conn.wait_for(lambda f: f["type"] == "registerfunction")
    invocation = frame["invocation"]
    assert invocation.pop("method", "POST") == "POST"  # POST is the wire default
    assert invocation == {
        "url": "https://billing.example.com/charge",
        "timeout_ms": 15000,
        "headers": {"x-team": "billing"},
        "auth": {"type": "bearer", "token_key": "BILLING_TOKEN"},
    }
    result = await conn.result_of(await conn.invoke("billing::charge", {}))
    assert result["error"]["code"] == "function_not_invokable"
