"""Spec iii-0.23-0.25 §6.6 (introspection), items 38–41; rules in §1.7.

The calls are made by a 0.25.0 worker in ``default`` (the SDK names ``default`` for every
``engine::*`` call anyway, §1.4).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.conftest import Connect, DriverWorker, NodeError, rows, start_engine, uid, until_namespaces
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("conf-6-6"))
    try:
        yield proc
    finally:
        proc.stop()


async def refusal(caller: DriverWorker, function_id: str, payload: dict[str, Any]) -> NodeError:
    with pytest.raises(NodeError) as refused:
        await caller.trigger(function_id, payload)
    return refused.value


async def test_38_functions_list_shows_one_row_per_namespace_with_its_worker(
    engine: EngineProcess, worker: Connect
) -> None:
    states = {ns: await worker(engine.url, "state", namespace=ns) for ns in ("analytics", "orders")}
    for w in states.values():
        await w.register_function("state::get", "echo")
    caller = await worker(engine.url)

    async def outside_default() -> list[dict[str, Any]]:
        # An iii-state in default (built in) may list its own row too; the statement is about these two.
        listed = [r for r in await rows(caller, "engine::functions::list", "functions")
                  if r["function_id"] == "state::get" and r["namespace"] != "default"]
        return listed if len(listed) == 2 else []

    listed = await eventually(outside_default, 10, what="both state::get rows")

    assert sorted((r["namespace"], r["worker_name"]) for r in listed) == [("analytics", "state"), ("orders", "state")]


async def test_39_functions_info_resolves_unique_ambiguous_and_explicit_namespaces(
    engine: EngineProcess, worker: Connect
) -> None:
    only_orders, in_a_and_b = uid("svc::only"), uid("svc::both")
    orders = await worker(engine.url, namespace="orders")
    a, b = await worker(engine.url, namespace="a"), await worker(engine.url, namespace="b")
    await orders.register_function(only_orders, "echo")
    await a.register_function(in_a_and_b, "echo")
    await b.register_function(in_a_and_b, "echo")
    caller = await worker(engine.url)
    await until_namespaces(caller, only_orders, ["orders"])
    await until_namespaces(caller, in_a_and_b, ["a", "b"])

    assert (await caller.trigger("engine::functions::info", {"function_id": only_orders}))["namespace"] == "orders"
    ambiguous = await refusal(caller, "engine::functions::info", {"function_id": in_a_and_b})
    assert ambiguous.code == "NOT_FOUND"
    assert "ambiguous" in ambiguous.message and "a, b" in ambiguous.message
    explicit = await caller.trigger("engine::functions::info", {"function_id": in_a_and_b, "namespace": "b"})
    assert explicit["namespace"] == "b"
    missing = await refusal(caller, "engine::functions::info", {"function_id": in_a_and_b, "namespace": "c"})
    assert missing.code == "NOT_FOUND"


async def test_40_workers_info_by_name_is_ambiguous_across_namespaces_and_strict_with_one(
    engine: EngineProcess, worker: Connect
) -> None:
    name = uid("state")
    one, two = uid("ns40-one"), uid("ns40-two")
    first = await worker(engine.url, name, namespace=one)
    second = await worker(engine.url, name, namespace=two)
    mine, theirs, my_type = uid("svc::first"), uid("svc::second"), uid("hook")
    await first.register_function(mine, "echo")
    await first.register_trigger_type(my_type)
    await second.register_function(theirs, "echo")
    caller = await worker(engine.url)
    await until_namespaces(caller, mine, [one])
    await until_namespaces(caller, theirs, [two])

    ambiguous = await refusal(caller, "engine::workers::info", {"name": name})
    assert ambiguous.code == "NOT_FOUND"
    assert "ambiguous" in ambiguous.message and one in ambiguous.message and two in ambiguous.message

    async def first_in_full() -> dict[str, Any] | None:
        info = await caller.trigger("engine::workers::info", {"name": name, "namespace": one})
        return info if info["trigger_types"] else None  # the type has no ack either

    info = await eventually(first_in_full, 10, what="the first worker with its trigger type")
    assert info["worker"]["id"] == first.worker_id and info["worker"]["namespace"] == one
    assert [f["function_id"] for f in info["functions"]] == [mine]
    assert [t["id"] for t in info["trigger_types"]] == [my_type]
    other = await caller.trigger("engine::workers::info", {"name": name, "namespace": two})
    assert other["worker"]["id"] == second.worker_id
    assert [f["function_id"] for f in other["functions"]] == [theirs]
    assert other["trigger_types"] == []


async def test_41_list_rows_carry_namespace_and_triggers_info_is_strict(
    engine: EngineProcess, worker: Connect
) -> None:
    in_orders = await worker(engine.url, namespace="orders")
    provider = await worker(engine.url)
    type_id = uid("hook")
    await provider.register_trigger_type(type_id)

    async def type_listed() -> list[dict[str, Any]]:
        return [r for r in await rows(provider, "engine::triggers::list", "triggers") if r["id"] == type_id]

    [type_row] = await eventually(type_listed, 10, what="the trigger type listed")
    assert type_row["namespace"] == "default"
    me = [r for r in await rows(provider, "engine::workers::list", "workers") if r["id"] == in_orders.worker_id]
    assert [r["namespace"] for r in me] == ["orders"]
    assert all("namespace" in r for r in await rows(provider, "engine::workers::list", "workers"))
    assert all("namespace" in r for r in await rows(provider, "engine::triggers::list", "triggers"))

    assert (await provider.trigger("engine::triggers::info", {"id": type_id}))["namespace"] == "default"
    explicit = await provider.trigger("engine::triggers::info", {"id": type_id, "namespace": "default"})
    assert explicit["namespace"] == "default"
    missing = await refusal(provider, "engine::triggers::info", {"id": type_id, "namespace": "orders"})
    assert missing.code == "NOT_FOUND"
    assert f"Trigger type '{type_id}' is not registered in namespace 'orders'." in missing.message
