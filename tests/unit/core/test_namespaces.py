"""Namespaces in the core (spec iii-0.23-0.25 §1, §4): the hold of a connection's early
registrations, strict routing, first-owner-wins, the worker-name lease, bindings' namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.engine import Engine
from pyiii.core.functions import CallContext
from pyiii.core.session import Session
from pyiii.core.triggers import Binding
from tests.support.fake_peer import FakePeer
from tests.support.waiting import eventually, stays


async def held_peer(engine: Engine, worker_id: str, *, grace_ms: int = 5_000, quiet_ms: int = 5_000) -> FakePeer:
    """A connection as the transport makes it: its registrations wait for its namespace."""
    peer = FakePeer(engine, worker_id)
    peer.session = Session(engine, peer, hold_grace_ms=grace_ms, hold_quiet_ms=quiet_ms)
    await engine.connect_peer(peer)
    return peer


async def declare(engine: Engine, peer: FakePeer, namespace: str | None, name: str | None = None,
                  *, aware: bool = True) -> bool:
    """What ``engine::workers::register`` does with the payload's namespace and name."""
    ok = await engine.declare_namespace(peer, namespace, name, aware=aware)
    if ok and name:
        peer.metadata.name = name
    return ok


async def namespaced_owner(engine: Engine, worker_id: str, namespace: str, *fids: str) -> FakePeer:
    peer = await held_peer(engine, worker_id)
    for fid in fids:
        await peer.register_function(fid)
    assert await declare(engine, peer, namespace, worker_id)
    return peer


async def test_registrations_before_the_declaration_land_in_the_declared_namespace() -> None:
    """§6.2 item 9: registerfunction, then register{namespace: orders}: in orders, never default."""
    engine = Engine()
    w = await held_peer(engine, "w")
    await w.register_function("svc::f")
    assert engine.functions.namespaces_of("svc::f") == []  # held, visible nowhere yet

    assert await declare(engine, w, "orders", "w")

    assert engine.functions.namespaces_of("svc::f") == ["orders"]
    assert engine.functions.get("svc::f") is None
    assert w.namespace == "orders"
    await w.register_function("svc::g")  # after the declaration: applied at once, same namespace
    assert engine.functions.namespaces_of("svc::g") == ["orders"]


async def test_held_registrations_are_applied_in_arrival_order() -> None:
    engine = Engine()
    w = await held_peer(engine, "w")
    await w.register_function("svc::f")
    await w.unregister_function("svc::f")
    await w.register_function("svc::g")
    await declare(engine, w, "orders")
    assert [e.id for e in engine.functions.all()] == ["svc::g"]


async def test_a_call_without_namespace_proves_default_and_finds_what_was_sent_before_it() -> None:
    """An old client's call is its barrier: its registrations are applied first, in default."""
    engine = Engine()

    async def noop(_data: Any, _ctx: CallContext) -> Any:
        return {"ok": True}

    engine.register_function("engine::baggage::get_all", noop)
    w = await held_peer(engine, "w")
    await w.register_function("svc::f")
    await w.invoke("engine::baggage::get_all", {}, invocation_id="i1")
    assert engine.functions.namespaces_of("svc::f") == ["default"]
    assert (await w.next_result("i1"))["result"] == {"ok": True}


async def test_a_json_ping_proves_default() -> None:
    engine = Engine()
    w = await held_peer(engine, "w")
    await w.register_function("svc::f")
    await w.send({"type": "ping"})
    assert engine.functions.namespaces_of("svc::f") == ["default"]


async def test_a_namespaced_call_does_not_end_the_hold() -> None:
    """A 0.23+ SDK names its namespace on its calls: those may come before its declaration."""
    engine = Engine()
    w = await held_peer(engine, "w")
    await w.register_function("svc::f")
    await w.invoke("other::x", {}, invocation_id="i1", namespace="orders")
    assert engine.functions.namespaces_of("svc::f") == []
    await declare(engine, w, "orders")
    assert engine.functions.namespaces_of("svc::f") == ["orders"]


async def test_a_quiet_connection_goes_to_default_before_the_grace_ends() -> None:
    engine = Engine()
    w = await held_peer(engine, "w", grace_ms=10_000, quiet_ms=50)
    await w.register_function("svc::f")
    await eventually(lambda: engine.functions.namespaces_of("svc::f") == ["default"], 2, what="filed by quiet")
    # A late declaration keeps the namespace already fixed (§1.2).
    assert await declare(engine, w, "orders")
    assert w.namespace == "default"


async def test_the_grace_files_a_busy_connection_under_default() -> None:
    engine = Engine()
    w = await held_peer(engine, "w", grace_ms=100, quiet_ms=10_000)
    await w.register_function("svc::f")
    await stays(lambda: engine.functions.namespaces_of("svc::f") == [], 0.05, what="held within the grace")
    await eventually(lambda: engine.functions.namespaces_of("svc::f") == ["default"], 2, what="filed by the grace")


async def test_held_registrations_of_a_connection_that_left_are_discarded() -> None:
    engine = Engine()
    w = await held_peer(engine, "w", grace_ms=50, quiet_ms=50)
    await w.register_function("svc::f")
    await w.disconnect()
    await stays(lambda: len(engine.functions) == 0, 0.2, what="nothing registered for a gone connection")


async def test_invoke_routes_strictly_by_the_calls_namespace() -> None:
    """§6.3 items 15-17: the same id in a and b; absent namespace means default, no fallback."""
    engine = Engine()
    a = await namespaced_owner(engine, "a", "a", "shared::who")
    b = await namespaced_owner(engine, "b", "b", "shared::who")
    caller = await FakePeer.connect(engine, "caller")

    await caller.invoke("shared::who", {}, invocation_id="to-b", namespace="b")
    call = await b.next_invoke()
    assert "namespace" not in call  # frames to owners never carry it (§6.3 item 20)
    await b.answer(call, result="b")
    assert (await caller.next_result("to-b"))["result"] == "b"
    assert a.of_type("invokefunction") == []

    await caller.invoke("shared::who", {}, invocation_id="nowhere")
    error = (await caller.next_result("nowhere"))["error"]
    assert error["code"] == E.FUNCTION_NOT_FOUND
    assert "not found in namespace default" in error["message"]
    assert "It is registered in namespace(s): a, b." in error["message"]


async def test_a_miss_in_default_keeps_the_0_22_1_message() -> None:
    engine = Engine()
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("nope::x", {}, invocation_id="i1")
    assert (await caller.next_result("i1"))["error"]["message"] == "Function nope::x not found"


async def test_a_blank_namespace_is_refused_and_an_id_less_call_is_dropped() -> None:
    engine = Engine()
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("x::y", {}, invocation_id="i1", namespace="  ")
    assert (await caller.next_result("i1"))["error"]["code"] == E.INVALID_NAMESPACE
    await caller.invoke("x::y", {}, namespace="")
    await stays(lambda: caller.of_type("invocationresult") == [], 0.05, what="no answer to a void call")


async def test_first_live_owner_wins_for_0_23_workers() -> None:
    """§4.2: the second live owner in a namespace gets registrationrejected, the id stays."""
    engine = Engine()
    alpha = await namespaced_owner(engine, "alpha", "orders", "svc::f")
    beta = await namespaced_owner(engine, "beta", "orders")
    await beta.register_function("svc::f")

    rejected = await beta.next("registrationrejected")
    assert rejected == {"type": "registrationrejected", "code": E.FUNCTION_NAMESPACE_CONFLICT,
                        "namespace": "orders", "function_id": "svc::f", "owner_worker_id": "alpha"}
    entry = engine.functions.get("svc::f", "orders")
    assert entry is not None and entry.owner is alpha
    assert beta.closed is None

    await alpha.disconnect()  # §6.4 item 23: gone, not handed to beta
    assert engine.functions.namespaces_of("svc::f") == []


async def test_a_0_22_1_worker_keeps_last_writer_wins() -> None:
    """Decision D2: a worker that never declared a namespace key takes an id over as before."""
    engine = Engine()
    first = await FakePeer.connect(engine, "first")
    second = await FakePeer.connect(engine, "second")
    await first.register_function("svc::f")
    await second.register_function("svc::f")
    entry = engine.functions.get("svc::f")
    assert entry is not None and entry.owner is second
    assert second.of_type("registrationrejected") == []


async def test_engine_ids_are_reserved_to_default() -> None:
    engine = Engine()
    w = await namespaced_owner(engine, "w", "orders", "engine::mine")
    rejected = await w.next("registrationrejected")
    assert (rejected["function_id"], rejected["owner_worker_id"], rejected["namespace"]) == (
        "engine::mine", "", "orders")
    assert engine.functions.namespaces_of("engine::mine") == []
    d = await namespaced_owner(engine, "d", "default", "engine::mine")
    assert d.of_type("registrationrejected") == []
    assert engine.functions.namespaces_of("engine::mine") == ["default"]


@pytest.mark.parametrize("aware", [True, False])
async def test_one_live_worker_per_name_in_a_namespace_for_0_23_workers(aware: bool) -> None:
    """§4.2 and decision D1: enforced only for a claimant whose payload named the keys."""
    engine = Engine()
    first = await held_peer(engine, "first")
    assert await declare(engine, first, "orders", "state", aware=aware)
    second = await held_peer(engine, "second")
    await second.register_function("svc::late")

    accepted = await declare(engine, second, "orders", "state", aware=aware)

    if aware:
        assert accepted is False
        rejected = await second.next("registrationrejected")
        assert rejected == {"type": "registrationrejected", "code": E.WORKER_NAMESPACE_CONFLICT,
                            "namespace": "orders", "worker_name": "state", "owner_worker_id": "first"}
        await eventually(lambda: second.closed is not None, 2, what="the loser closed")
        assert engine.functions.namespaces_of("svc::late") == []  # held registrations die
    else:
        assert accepted is True and second.closed is None
    other = await held_peer(engine, "other")
    assert await declare(engine, other, "analytics", "state")  # §6.4 item 27


async def test_the_name_is_free_again_when_its_holder_leaves() -> None:
    engine = Engine()
    first = await held_peer(engine, "first")
    await declare(engine, first, "orders", "state")
    await first.disconnect()
    again = await held_peer(engine, "again")
    assert await declare(engine, again, "orders", "state")


async def test_a_binding_fires_its_function_in_its_namespace() -> None:
    engine = Engine()
    seen: list[str] = []

    async def handler(_data: Any, ctx: CallContext) -> Any:
        seen.append(ctx.function_id)
        return "default copy"

    engine.register_function("svc::h", handler)
    owner = await namespaced_owner(engine, "o", "orders", "svc::h")
    binding = Binding("b1", "webhook", "svc::h", namespace="orders")

    fired = engine.invoker.spawn(engine.fire(binding, {"n": 1}))
    call = await owner.next_invoke()
    await owner.answer(call, result="orders copy")
    assert await fired == "orders copy"
    assert seen == []


async def test_registertrigger_with_a_blank_namespace_is_refused() -> None:
    engine = Engine()
    w = await FakePeer.connect(engine, "w")
    await w.register_trigger("t1", "webhook", "svc::h", {}, trigger_namespace=" ")
    answer = await w.next("triggerregistrationresult")
    assert answer["error"]["code"] == E.INVALID_NAMESPACE
    assert "`trigger_namespace` is empty" in answer["error"]["message"]
    assert engine.triggers.find("t1") is None


async def test_a_trigger_type_with_a_blank_namespace_is_dropped_and_unregistering_works() -> None:
    engine = Engine()
    w = await FakePeer.connect(engine, "w")
    await w.register_trigger_type("webhook", namespace="")
    assert "webhook" not in engine.triggers.types
    await w.register_trigger_type("webhook")
    await w.send({"type": "unregistertriggertype", "id": "webhook", "namespace": " "})
    assert "webhook" in engine.triggers.types
    await w.send({"type": "unregistertriggertype", "id": "webhook", "description": "node sends it all"})
    assert "webhook" not in engine.triggers.types
