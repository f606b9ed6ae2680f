"""Spec iii-0.23-0.25 §6.3 (routing), items 15–20; rules in §1.4 and §1.5.

Item 21 (queues) is another branch's (``nsqueues``). ``shared::who`` answers with the namespace
its worker connected in (py_driver.py's ``echo``), so a result names the copy that ran.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.conftest import Connect, DriverWorker, Raw, declare, start_engine, uid, until_namespaces
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("conf-6-3"))
    try:
        yield proc
    finally:
        proc.stop()


async def who_in_a_and_b(engine: EngineProcess, worker: Connect) -> tuple[str, DriverWorker, DriverWorker]:
    """Workers in ``a`` and ``b`` each owning their own ``shared::who`` (a fresh id)."""
    fid = uid("shared::who")
    in_a = await worker(engine.url, namespace="a")
    in_b = await worker(engine.url, namespace="b")
    await in_a.register_function(fid, "echo")
    await in_b.register_function(fid, "echo")
    await until_namespaces(in_a, fid, ["a", "b"])
    return fid, in_a, in_b


async def test_15_trigger_reaches_the_copy_in_the_callers_namespace(engine: EngineProcess, worker: Connect) -> None:
    fid, in_a, in_b = await who_in_a_and_b(engine, worker)

    assert (await in_a.trigger(fid, {}))["namespace"] == "a"
    assert (await in_b.trigger(fid, {}))["namespace"] == "b"


async def test_16_trigger_naming_another_namespace_reaches_it(engine: EngineProcess, worker: Connect) -> None:
    fid, in_a, _ = await who_in_a_and_b(engine, worker)

    assert (await in_a.trigger(fid, {}, namespace="b"))["namespace"] == "b"


async def test_17_raw_invoke_without_namespace_names_the_namespaces(
    engine: EngineProcess, worker: Connect, raw: Raw
) -> None:
    fid, _, _ = await who_in_a_and_b(engine, worker)
    caller = await raw(engine.url)

    answer = await caller.call(fid, {})

    assert answer["error"]["code"] == "function_not_found"
    assert "not found in namespace default" in answer["error"]["message"]
    assert "It is registered in namespace(s): a, b." in answer["error"]["message"]


async def test_18_namespaced_worker_calls_engine_and_configuration_functions_unqualified(
    engine: EngineProcess, worker: Connect
) -> None:
    in_a = await worker(engine.url, namespace="a")

    functions = await in_a.trigger("engine::functions::list", {})
    configuration = await in_a.trigger("configuration::list", {})

    assert isinstance(functions["functions"], list)
    assert isinstance(configuration["configurations"], list)


async def test_19_raw_invoke_with_a_blank_namespace(engine: EngineProcess, raw: Raw) -> None:
    caller = await raw(engine.url)

    answer = await caller.call("engine::functions::list", {}, namespace="")
    assert answer["error"]["code"] == "INVALID_NAMESPACE"

    # Without an invocation id there is nobody to answer: nothing comes back. A later call on
    # the same connection is answered after anything the engine would have sent for it.
    await caller.send({"type": "invokefunction", "function_id": "engine::functions::list", "data": {},
                       "namespace": ""})
    barrier = await caller.call("engine::functions::list", {})
    assert "result" in barrier
    assert caller.inbox.empty(), caller.inbox.get_nowait()


async def answer_calls(owner: RawWorker, seen: list[dict[str, Any]]) -> None:
    """A raw owner's loop: record each invokefunction as received and answer it."""
    while True:
        frame = await owner.inbox.get()
        if frame.get("type") != "invokefunction":
            continue
        seen.append(frame)
        await owner.send({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                          "function_id": frame["function_id"], "result": {"ok": True}})


async def test_20_frames_to_owners_never_carry_namespace(engine: EngineProcess, worker: Connect, raw: Raw) -> None:
    in_orders, in_default = await raw(engine.url), await raw(engine.url)
    fid = uid("svc::owned")
    await declare(in_orders, uid("owner"), namespace="orders")
    await declare(in_default, uid("owner"))
    await in_orders.register(fid)
    await in_default.register(fid)
    seen: list[dict[str, Any]] = []
    loops = [asyncio.create_task(answer_calls(o, seen)) for o in (in_orders, in_default)]
    try:
        caller = await worker(engine.url, namespace="orders")
        await until_namespaces(caller, fid, ["default", "orders"])

        assert await caller.trigger(fid, {"n": 1}) == {"ok": True}  # orders: named by the SDK
        assert await caller.trigger(fid, {"n": 2}, namespace="default") == {"ok": True}
        await caller.trigger(fid, {"n": 3}, action={"type": "void"})
        await eventually(lambda: len(seen) == 3, 5, what="three calls at the owners")
    finally:
        for loop in loops:
            loop.cancel()

    assert sorted(f["data"]["n"] for f in seen) == [1, 2, 3]
    assert [json.dumps(f) for f in seen if "namespace" in f] == []
