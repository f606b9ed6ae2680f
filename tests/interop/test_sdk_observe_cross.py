"""pyiii.sdk and the official iii-sdk 0.25.0 observing each other's functions through a real pyiii
engine (spec iii-0.23-0.25 §5): one SDK's frames must mean the same to the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pyiii.sdk import III, InitOptions, ObserveHooks, Observer, current_invocation
from tests.interop.conftest import DriverWorker, NodeDriver, uid
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually, stays

pytestmark = pytest.mark.interop

SDK = "0.25.0"


@pytest.fixture
async def pyiii_worker(shared_engine: EngineProcess) -> AsyncIterator[III]:
    client = III(shared_engine.url, InitOptions(worker_name=uid("pyiii"), local_stats_interval_s=0.2))
    await asyncio.to_thread(client._wait_until_connected)
    await eventually(lambda: client.worker_id, what="workerregistered")
    if "observe.v1" not in client.engine_features:
        await asyncio.to_thread(client.shutdown)
        pytest.skip("this engine does not advertise observe.v1 (iii 0.25 observe)")
    yield client
    await asyncio.to_thread(client.shutdown)


@pytest.fixture
async def official(shared_engine: EngineProcess, official_py: Callable[[str], NodeDriver],
                   driver_worker: Any) -> DriverWorker:
    worker: DriverWorker = await driver_worker(official_py(SDK), shared_engine.url, uid("official"))
    return worker


def activations(worker: DriverWorker, function_id: str) -> list[dict[str, Any]]:
    return [e for e in worker.driver.events if e.get("event") == "invoked" and e.get("w") == worker.handle
            and e.get("function_id") == function_id]


async def listed(client: III, function_id: str) -> bool:
    rows = (await client.trigger_async({"function_id": "engine::functions::list", "payload": {}}))["functions"]
    return any(r.get("function_id") == function_id for r in rows)


async def test_the_official_sdk_observes_a_pyiii_function_called_in_process(
    pyiii_worker: III, official: DriverWorker
) -> None:
    src, sink = uid("px") + "::src", uid("ox") + "::sink"
    pyiii_worker.register_function(src, lambda order: {"ok": order["amount"]})
    await official.register_function(sink, "record")
    await eventually(lambda: listed(pyiii_worker, sink))
    handle = await official.observe({"function_id": src, "filters": {"input.amount": {"$gte": 500}}}, sink)
    assert (await official.observer_ready(handle, 10))["state"] == "active"

    # pyiii.sdk runs its own function in-process and reports the match (invocationsobserved)
    for amount in (10, 750):
        assert await pyiii_worker.trigger_async({"function_id": src, "payload": {"amount": amount}}) == {"ok": amount}
    got = await eventually(lambda: activations(official, sink), timeout=15, what="the official target ran")
    envelope = got[0]["data"]
    assert envelope["input"] == {"amount": 750} and envelope["output"] == {"ok": 750}
    assert envelope["function_id"] == src and envelope["status"] == "success"
    assert envelope["caller"]["worker_id"] == pyiii_worker.worker_id
    await stays(lambda: len(activations(official, sink)) == 1, 0.5, what="amount 10 activated nothing")


async def test_pyiii_observes_an_official_owner_delivered_function(
    pyiii_worker: III, official: DriverWorker
) -> None:
    src = uid("ox") + "::src"
    sink = uid("px") + "::sink"
    await official.register_function(src, "echo")
    seen: list[tuple[Any, Any]] = []

    def record(data: Any) -> str:
        seen.append((data, current_invocation()))
        return "ok"

    pyiii_worker.register_function(sink, record)
    await eventually(lambda: listed(pyiii_worker, src))
    await eventually(lambda: listed(pyiii_worker, sink))
    handle = pyiii_worker.observe({"function_id": src, "capture": ["input", "output"]}, sink,
                                  {"metadata": {"team": "x"}})
    await asyncio.wait_for(handle.ready_async(), 10)
    await official.trigger(src, {"n": 1})
    await eventually(lambda: seen, what="the pyiii target ran")
    envelope, ctx = seen[0]
    assert envelope["input"] == {"n": 1} and "caller" not in envelope
    assert ctx.activation is not None and ctx.activation["observer_id"] == handle.id and ctx.observe_depth == 1


async def test_pyiii_owner_hooks_see_an_official_observer(pyiii_worker: III, official: DriverWorker) -> None:
    src = uid("px") + "::tick"
    sink = uid("ox") + "::sink"
    held: list[Observer] = []
    pyiii_worker.register_function(src, lambda _d: None, observe=ObserveHooks(
        delivery="owner", args_format={"type": "object", "required": ["every"]}, on_observer_added=held.append))
    await official.register_function(sink, "record")
    await eventually(lambda: listed(pyiii_worker, sink))
    handle = await official.observe({"function_id": src, "args": {"every": 3}}, sink)
    assert (await official.observer_ready(handle, 10))["state"] == "active"
    [obs] = held
    assert obs.args == {"every": 3} and obs.target == sink
    assert await asyncio.to_thread(obs.emit, {"tick": 1})
    got = await eventually(lambda: activations(official, sink), what="the emitted event reached the official target")
    assert got[0]["data"]["input"] == {"tick": 1}
    bad = await official.observe({"function_id": src, "args": {"no": 1}}, sink)
    assert (await official.observer_ready(bad, 10))["reason"]["code"] == "INVALID_ARGS"
