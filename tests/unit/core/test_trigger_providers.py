"""Trigger-type providers keyed by namespace, with fake peers (spec iii-0.23-0.25 §1.4, §1.6, §1.9):
which provider a binding reaches, what the engine tells it, re-homing, departure and parking."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.access import Access
from pyiii.core.engine import Engine
from pyiii.core.errors import FunctionError
from pyiii.core.session import Session
from pyiii.core.triggers import Binding
from tests.support.fake_peer import FakePeer


class Recorder:
    """An in-process provider (a built-in in ``default``) that records what it serves."""

    def __init__(self) -> None:
        self.armed: dict[str, Binding] = {}

    async def register_trigger(self, binding: Binding) -> None:
        self.armed[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.armed.pop(binding.id, None)


async def worker_in(engine: Engine, worker_id: str, namespace: str, *, access: Access | None = None) -> FakePeer:
    """A connection whose ``engine::workers::register`` declared ``namespace``."""
    peer = FakePeer(engine, worker_id, access=access)
    peer.session = Session(engine, peer, hold_grace_ms=5_000, hold_quiet_ms=5_000)
    await engine.connect_peer(peer)
    assert await engine.declare_namespace(peer, namespace, worker_id, aware=True)
    return peer


def registrations(peer: FakePeer) -> list[dict[str, Any]]:
    return peer.of_type("registertrigger")


def unregistrations(peer: FakePeer) -> list[str]:
    return [f["id"] for f in peer.of_type("unregistertrigger")]


async def test_a_binding_reaches_its_home_provider_with_both_namespaces() -> None:
    """§6.5 item 32 (core): the frame names the target and the provider namespace."""
    engine = Engine()
    provider = await worker_in(engine, "p", "orders")
    await provider.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {"path": "/h"}, namespace="orders")
    [frame] = registrations(provider)
    assert frame["id"] == "t1" and frame["namespace"] == "orders" and frame["trigger_namespace"] == "orders"
    assert engine.triggers.live["t1"].provider_namespace == "orders"


async def test_a_default_binding_at_a_default_provider_carries_neither_key() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "p")
    await provider.register_trigger_type("webhook")
    user = await FakePeer.connect(engine, "u")
    await user.register_trigger("t1", "webhook", "svc::h", {})
    [frame] = registrations(provider)
    assert "namespace" not in frame and "trigger_namespace" not in frame


async def test_two_namespaces_provide_one_type_independently() -> None:
    engine = Engine()
    orders = await worker_in(engine, "po", "orders")
    billing = await worker_in(engine, "pb", "billing")
    await orders.register_trigger_type("webhook")
    await billing.register_trigger_type("webhook")
    assert set(engine.triggers.providers) == {("orders", "webhook"), ("billing", "webhook")}
    assert "webhook" not in engine.triggers.types  # nobody provides it in default
    user = await worker_in(engine, "u", "billing")
    await user.register_trigger("t1", "webhook", "svc::h", {}, namespace="billing")
    assert [f["id"] for f in registrations(billing)] == ["t1"] and registrations(orders) == []


async def test_a_binding_falls_back_to_default_and_moves_home_when_a_provider_arrives() -> None:
    """§6.5 item 33: unregistertrigger to the default provider, the same id to the new one."""
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {"path": "/h"}, namespace="orders")
    [first] = registrations(fallback)
    assert first["namespace"] == "orders" and "trigger_namespace" not in first

    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")

    assert unregistrations(fallback) == ["t1"]
    [moved] = registrations(home)
    assert moved["id"] == "t1" and moved["config"] == {"path": "/h"} and moved["trigger_namespace"] == "orders"
    assert engine.triggers.live["t1"].provider_namespace == "orders"


async def test_an_explicit_default_trigger_namespace_is_never_moved() -> None:
    """§6.5 item 34."""
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {}, namespace="orders", trigger_namespace="default")
    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")
    assert unregistrations(fallback) == [] and registrations(home) == []
    assert engine.triggers.live["t1"].provider_namespace == "default"


async def test_bindings_of_other_homes_stay_with_default() -> None:
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    billing_user = await worker_in(engine, "ub", "billing")
    default_user = await FakePeer.connect(engine, "ud")
    await billing_user.register_trigger("tb", "webhook", "svc::h", {}, namespace="billing")
    await default_user.register_trigger("td", "webhook", "svc::h", {})
    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")
    assert unregistrations(fallback) == [] and registrations(home) == []


async def test_a_strict_trigger_namespace_waits_for_its_provider() -> None:
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    user = await FakePeer.connect(engine, "u")
    await user.register_trigger("t1", "webhook", "svc::h", {}, trigger_namespace="orders")
    assert "t1" in engine.triggers.parked and registrations(fallback) == []
    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")
    [frame] = registrations(home)
    assert frame["id"] == "t1" and frame["trigger_namespace"] == "orders" and "namespace" not in frame


async def test_a_departed_home_provider_hands_its_bindings_to_default_then_takes_them_back() -> None:
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {}, namespace="orders")
    assert [f["id"] for f in registrations(home)] == ["t1"] and registrations(fallback) == []

    await home.disconnect()
    assert [f["id"] for f in registrations(fallback)] == ["t1"]  # re-resolved: default serves it
    again = await worker_in(engine, "po2", "orders")
    await again.register_trigger_type("webhook")
    assert unregistrations(fallback) == ["t1"] and [f["id"] for f in registrations(again)] == ["t1"]


async def test_unregistertriggertype_parks_the_bindings_until_a_provider_returns() -> None:
    """§6.5 item 37 (core), and only the provider itself may remove its key."""
    engine = Engine()
    provider = await worker_in(engine, "po", "orders")
    await provider.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {}, namespace="orders")

    await user.send({"type": "unregistertriggertype", "id": "webhook", "namespace": "orders"})
    assert ("orders", "webhook") in engine.triggers.providers  # not the provider: ignored
    await provider.send({"type": "unregistertriggertype", "id": "webhook", "namespace": "default"})
    assert ("orders", "webhook") in engine.triggers.providers  # another key: nothing there
    await provider.send({"type": "unregistertriggertype", "id": "webhook", "namespace": "orders"})
    assert ("orders", "webhook") not in engine.triggers.providers and provider.trigger_types == set()
    assert "t1" in engine.triggers.parked and engine.triggers.parked["t1"].provider_namespace is None

    back = await worker_in(engine, "po2", "orders")
    await back.register_trigger_type("webhook")
    assert [f["id"] for f in registrations(back)] == ["t1"] and "t1" in engine.triggers.live


async def test_a_provider_may_serve_another_namespace_when_trusted_but_not_as_a_session() -> None:
    engine = Engine()
    trusted = await FakePeer.connect(engine, "t")
    await trusted.register_trigger_type("webhook", namespace="orders")
    assert engine.triggers.providers[("orders", "webhook")].owner is trusted
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True))
    await session.register_trigger_type("cron", namespace="orders")
    refused = await session.next("triggerregistrationresult")
    assert refused["error"]["code"] == E.FORBIDDEN and "own namespace 'default'" in refused["error"]["message"]
    assert ("orders", "cron") not in engine.triggers.providers


async def test_only_the_serving_provider_may_refuse_a_binding() -> None:
    engine = Engine()
    fallback = await FakePeer.connect(engine, "pd")
    await fallback.register_trigger_type("webhook")
    home = await worker_in(engine, "po", "orders")
    await home.register_trigger_type("webhook")
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "webhook", "svc::h", {}, namespace="orders")
    no = {"type": "triggerregistrationresult", "id": "t1", "trigger_type": "webhook",
          "error": {"code": "BAD", "message": "no"}}
    await fallback.send(no)  # provides the type id, but not for this binding
    assert "t1" in engine.triggers.live
    await home.send(no)
    assert "t1" in engine.triggers.parked


async def test_built_in_providers_serve_bindings_from_every_namespace() -> None:
    engine = Engine()
    builtin = Recorder()
    await engine.register_trigger_type("cron", builtin)
    user = await worker_in(engine, "u", "orders")
    await user.register_trigger("t1", "cron", "svc::h", {"expression": "* * * * * *"}, namespace="orders")
    assert builtin.armed["t1"].namespace == "orders" and builtin.armed["t1"].provider_namespace == "default"


async def test_engine_register_trigger_takes_a_strict_trigger_namespace() -> None:
    engine = Engine()
    fallback = Recorder()
    await engine.register_trigger_type("webhook", fallback)
    parked = await engine.register_trigger_for(None, "webhook", "svc::h", {}, None, trigger_namespace="orders")
    assert parked in engine.triggers.parked and fallback.armed == {}
    served = await engine.register_trigger_for(None, "webhook", "svc::h", {}, None)
    assert served in fallback.armed
    with pytest.raises(FunctionError) as blank:
        await engine.register_trigger_for(None, "webhook", "svc::h", {}, None, trigger_namespace=" ")
    assert blank.value.code == E.INVALID_NAMESPACE


async def test_a_session_binding_to_a_function_it_may_not_call_names_the_namespace() -> None:
    """§6.5 item 36 (core)."""
    engine = Engine()
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True))
    await session.register_trigger("t1", "webhook", "internal::x", {}, namespace="orders")
    refused = await session.next("triggerregistrationresult")
    assert refused["error"]["code"] == E.FORBIDDEN
    assert "function 'internal::x' not allowed in namespace 'orders'" in refused["error"]["message"]
    assert engine.triggers.find("t1") is None


async def test_a_session_may_not_take_a_type_from_the_engine_or_another_worker() -> None:
    engine = Engine()
    builtin = Recorder()
    await engine.register_trigger_type("http", builtin)
    trusted = await worker_in(engine, "t", "orders")
    await trusted.register_trigger_type("webhook")
    session = await worker_in(engine, "s", "orders", access=Access(rbac=True))

    await session.register_trigger_type("http")  # would re-home every orders route to it
    refused = await session.next("triggerregistrationresult")
    assert refused["error"]["code"] == E.FORBIDDEN and "provided by the engine" in refused["error"]["message"]
    await session.register_trigger_type("webhook")
    refused = await session.next("triggerregistrationresult")
    assert "provided by another worker" in refused["error"]["message"]
    assert engine.triggers.providers[("orders", "webhook")].owner is trusted
    assert ("orders", "http") not in engine.triggers.providers

    await session.register_trigger_type("own")  # a type of its own is fine, and so is replacing it
    await session.register_trigger_type("own", description="again")
    assert engine.triggers.providers[("orders", "own")].description == "again"
    await trusted.disconnect()  # a departed worker's key is free
    await session.register_trigger_type("webhook")
    assert engine.triggers.providers[("orders", "webhook")].owner is session
