"""``functionregistered`` and the local-dispatch decision (spec iii-0.23-0.25 §3.1, §3.2, §6.8
items 49, 50, 53), with fake peers."""

from __future__ import annotations

from typing import Any

from pyiii.core.access import Access
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.functions import CallContext
from pyiii.core.session import Session
from tests.support.fake_peer import FakePeer

SDK_025 = ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


async def worker_025(engine: Engine, worker_id: str, namespace: str | None = None, *,
                     features: list[str] | None = None, access: Access | None = None) -> FakePeer:
    """A 0.25 worker: its registrations wait for engine::workers::register, as on a real listener."""
    peer = FakePeer(engine, worker_id, access=access)
    peer.session = Session(engine, peer, hold_grace_ms=5_000, hold_quiet_ms=5_000)
    await engine.connect_peer(peer)
    peer.pending_features = SDK_025 if features is None else features  # type: ignore[attr-defined]
    peer.pending_namespace = namespace  # type: ignore[attr-defined]
    return peer


async def register(engine: Engine, peer: FakePeer) -> None:
    """``engine::workers::register`` with the worker's namespace and features."""
    assert await engine.declare_namespace(
        peer, peer.pending_namespace, peer.worker_id, aware=True,  # type: ignore[attr-defined]
        features=peer.pending_features,  # type: ignore[attr-defined]
    )


async def test_held_registrations_are_acked_in_the_resolved_namespace() -> None:
    """§6.8 item 49: registerfunction before engine::workers::register{namespace: orders}."""
    engine = Engine()
    w = await worker_025(engine, "w", "orders")
    await w.register_function("svc::f")
    assert w.of_type("functionregistered") == []  # held: nothing is registered yet

    await register(engine, w)
    await w.register_function("svc::g")

    assert w.of_type("functionregistered") == [
        {"type": "functionregistered", "id": "svc::f", "namespace": "orders", "revision": 0,
         "local_dispatch": True, "observers": []},
        {"type": "functionregistered", "id": "svc::g", "namespace": "orders", "revision": 0,
         "local_dispatch": True, "observers": []},
    ]


async def test_revision_and_observers_come_from_the_observer_sets() -> None:
    class Sets:
        def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
            return 3, [{"id": f"obs-{namespace}-{function_id}", "args": {}, "filters": {}, "target": "t::x",
                        "capture": ["input"], "on": "success"}]

    engine = Engine()
    engine.observer_sets = Sets()
    w = await worker_025(engine, "w", "orders")
    await register(engine, w)
    await w.register_function("svc::f")

    ack = (w.of_type("functionregistered"))[0]
    assert (ack["revision"], [o["id"] for o in ack["observers"]]) == (3, ["obs-orders-svc::f"])


async def test_workers_without_observe_v1_never_get_the_ack() -> None:
    """§6.8 item 50: a 0.22.1 / 0.24 worker (no features), or an engine that advertises none."""
    engine = Engine()
    old = await worker_025(engine, "old", features=[])
    await register(engine, old)
    await old.register_function("svc::old")
    bare_engine = Engine(EngineLimits(features=[]))
    new = await worker_025(bare_engine, "new")
    await register(bare_engine, new)
    await new.register_function("svc::new")

    assert old.of_type("functionregistered") == [] and new.of_type("functionregistered") == []
    assert engine.functions.get("svc::old") is not None and bare_engine.functions.get("svc::new") is not None


async def test_a_rejected_or_refused_registration_is_not_acked() -> None:
    engine = Engine()
    first = await worker_025(engine, "first")
    await register(engine, first)
    await first.register_function("svc::f")
    second = await worker_025(engine, "second")
    await register(engine, second)
    await second.register_function("svc::f")  # FUNCTION_NAMESPACE_CONFLICT
    gated = await worker_025(engine, "gated", access=Access(rbac=True, allow_function_registration=False))
    await register(engine, gated)
    await gated.register_function("svc::g")

    assert second.of_type("functionregistered") == [] and len(second.of_type("registrationrejected")) == 1
    assert gated.of_type("functionregistered") == []


async def test_without_local_dispatch_v1_the_ack_says_false() -> None:
    engine = Engine()
    w = await worker_025(engine, "w", features=["observe.v1"])
    await register(engine, w)
    await w.register_function("svc::f")
    assert w.of_type("functionregistered")[0]["local_dispatch"] is False
    only_observe = Engine(EngineLimits(features=["observe.v1"]))
    v = await worker_025(only_observe, "v")
    await register(only_observe, v)
    await v.register_function("svc::f")
    assert v.of_type("functionregistered")[0]["local_dispatch"] is False


async def test_listener_middleware_rules_local_dispatch_out() -> None:
    """§6.8 item 53: the middleware must see every call, self-calls included."""
    engine = Engine()
    w = await worker_025(engine, "w", access=Access(middleware_function_id="mw::gate"))
    await register(engine, w)
    await w.register_function("svc::f")
    assert w.of_type("functionregistered")[0]["local_dispatch"] is False


async def test_a_registration_prefix_acks_the_registered_id_without_local_dispatch() -> None:
    engine = Engine()
    access = Access(rbac=True, function_registration_prefix="tenant-a")
    w = await worker_025(engine, "w", access=access)
    await register(engine, w)
    await w.register_function("svc::f")

    ack = w.of_type("functionregistered")[0]
    assert (ack["id"], ack["local_dispatch"]) == ("svc::f", False)
    assert [e.id for e in engine.functions.all()] == [access.prefixed("svc::f")] != ["svc::f"]


async def test_rbac_that_denies_the_self_call_rules_local_dispatch_out() -> None:
    engine = Engine()
    w = await worker_025(engine, "w", access=Access(
        rbac=True, forbidden_functions=frozenset({"svc::secret"}), allowed_functions=frozenset({"svc::open"})))
    await register(engine, w)
    await w.register_function("svc::secret")
    await w.register_function("svc::open")

    acks = {a["id"]: a["local_dispatch"] for a in w.of_type("functionregistered")}
    assert acks == {"svc::secret": False, "svc::open": True}


async def test_an_http_invoked_function_is_acked_without_local_dispatch() -> None:
    engine = Engine()

    async def factory(_fid: str, _ref: Any) -> Any:
        async def handler(_data: Any, _ctx: CallContext) -> Any:
            return None
        return handler

    engine.http_function_factory = factory
    w = await worker_025(engine, "w")
    await register(engine, w)
    await w.register_function("svc::remote", invocation={"url": "http://127.0.0.1:9/x"})

    assert w.of_type("functionregistered")[0]["local_dispatch"] is False


async def test_every_new_connection_gets_the_acks_again() -> None:
    """The SDK replays its registrations on each connection; each replay is acked."""
    engine = Engine()
    for attempt in ("a", "b"):
        w = await worker_025(engine, f"w-{attempt}", "orders")
        await w.register_function("svc::f")
        await register(engine, w)
        assert [a["id"] for a in w.of_type("functionregistered")] == ["svc::f"]
        await w.disconnect()


async def test_registrations_applied_before_the_features_are_acked_when_they_arrive() -> None:
    """A connection whose registrations were applied at once (no hold) learns of them late."""
    engine = Engine()
    w = await FakePeer.connect(engine, "w")
    await w.register_function("svc::b")
    await w.register_function("svc::a")
    assert w.of_type("functionregistered") == []

    assert await engine.declare_namespace(w, None, "w", aware=True, features=SDK_025)
    assert await engine.declare_namespace(w, None, "w", aware=True, features=SDK_025)  # once only

    assert [(a["id"], a["local_dispatch"]) for a in w.of_type("functionregistered")] == [
        ("svc::a", True), ("svc::b", True)]
