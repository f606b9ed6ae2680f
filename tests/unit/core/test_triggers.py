"""Trigger types and bindings through the engine with fake peers (spec/protocol.md §3.3-§3.5, §3.11,
§4.10, §6.5): delivery to remote and in-process providers, parking until a provider appears, owners
and cleanup, provider refusals, RBAC-guarded bindings, the binding-key stacks seen from workers.
The registry's stack rules on their own are in test_binding_stacks.py."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.access import Access, ExposeRule
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.errors import FunctionError, TriggerRegistrationError
from pyiii.core.functions import CallContext
from pyiii.core.registration_hooks import RegistrationHooks
from pyiii.core.triggers import Binding
from tests.support.fake_peer import FakePeer


class Recorder:
    """An in-process provider that records what it serves; refuses configs with ``refuse``."""

    def __init__(self) -> None:
        self.armed: dict[str, Binding] = {}
        self.disarmed: list[str] = []

    async def register_trigger(self, binding: Binding) -> None:
        if isinstance(binding.config, dict) and binding.config.get("refuse"):
            raise TriggerRegistrationError("config refused by the provider")
        self.armed[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.armed.pop(binding.id, None)
        self.disarmed.append(binding.id)


def route_key(binding: Binding) -> Hashable:
    return (binding.config["method"], binding.config["path"])


def refusals(peer: FakePeer) -> list[dict[str, Any]]:
    return [f for f in peer.frames if f["type"] == "triggerregistrationresult" and f.get("error")]


async def noop(data: Any, ctx: CallContext) -> Any:
    return data


# ------------------------------------------------------------------ remote providers


async def test_a_binding_is_delivered_to_the_remote_provider() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "provider")
    await provider.register_trigger_type("tick", description="ticks")
    assert engine.triggers.types["tick"].owner is provider and provider.trigger_types == {("default", "tick")}
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("t1", "tick", "u::on_tick", {"every": 5}, metadata={"step": "s"})
    frame = await provider.next("registertrigger")
    assert frame == {"type": "registertrigger", "id": "t1", "trigger_type": "tick", "function_id": "u::on_tick",
                     "config": {"every": 5}, "metadata": {"step": "s"}}
    assert user.triggers == {"t1"} and engine.triggers.live["t1"].owner is user
    await user.send({"type": "unregistertrigger", "id": "t1"})
    assert (await provider.next("unregistertrigger")) == {"type": "unregistertrigger", "id": "t1",
                                                          "trigger_type": "tick"}
    assert engine.triggers.find("t1") is None and not user.triggers


async def test_a_binding_waits_for_its_provider_and_keeps_its_id() -> None:
    engine = Engine()
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("t1", "tick", "u::f", {"a": 1})
    assert set(engine.triggers.parked) == {"t1"} and not refusals(user)
    provider = await FakePeer.connect(engine, "provider")
    await provider.register_trigger_type("tick")
    assert (await provider.next("registertrigger"))["id"] == "t1"
    assert set(engine.triggers.live) == {"t1"} and not engine.triggers.parked


async def test_a_departed_providers_bindings_park_and_go_to_the_next_one() -> None:
    engine = Engine()
    first = await FakePeer.connect(engine, "p1")
    await first.register_trigger_type("tick")
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("t1", "tick", "u::f")
    await first.next("registertrigger")
    await first.disconnect()
    assert "tick" not in engine.triggers.types and set(engine.triggers.parked) == {"t1"}
    second = await FakePeer.connect(engine, "p2")
    await second.register_trigger_type("tick")
    assert (await second.next("registertrigger"))["id"] == "t1"


async def test_unregistering_a_trigger_type_parks_its_bindings() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "p1")
    await provider.register_trigger_type("tick")
    await engine.register_trigger("tick", "f", {}, trigger_id="t1")
    other = await FakePeer.connect(engine, "other")
    await other.send({"type": "unregistertriggertype", "id": "tick"})  # not its type: ignored
    assert "tick" in engine.triggers.types
    await provider.send({"type": "unregistertriggertype", "id": "tick"})
    assert "tick" not in engine.triggers.types and set(engine.triggers.parked) == {"t1"}


async def test_a_new_provider_of_a_type_takes_it_over() -> None:
    engine = Engine()
    first, second = await FakePeer.connect(engine, "p1"), await FakePeer.connect(engine, "p2")
    await first.register_trigger_type("tick")
    await engine.register_trigger("tick", "f", {}, trigger_id="t1")
    await second.register_trigger_type("tick")
    assert engine.triggers.types["tick"].owner is second and not first.trigger_types
    assert (await second.next("registertrigger"))["id"] == "t1"  # live bindings are replayed
    await first.disconnect()  # the old provider's cleanup leaves the type alone
    assert engine.triggers.types["tick"].owner is second


async def test_the_owners_disconnect_removes_its_bindings_at_the_provider() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "provider")
    await provider.register_trigger_type("tick")
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("t1", "tick", "u::f")
    await user.register_trigger("t2", "later", "u::f")  # parked
    await engine.register_trigger("tick", "builtin::f", trigger_id="mine")
    await user.disconnect()
    assert (await provider.next("unregistertrigger"))["id"] == "t1"
    assert engine.triggers.find("t1") is None and engine.triggers.find("t2") is None
    assert set(engine.triggers.live) == {"mine"}  # ownerless bindings stay


async def test_a_provider_refusal_parks_the_binding_and_tells_its_owner() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "provider")
    await provider.register_trigger_type("tick")
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("t1", "tick", "u::f", {"bad": True})
    await provider.next("registertrigger")
    spoofer = await FakePeer.connect(engine, "spoofer")
    error = {"code": "bad_config", "message": "no"}
    await spoofer.send({"type": "triggerregistrationresult", "id": "t1", "trigger_type": "tick", "error": error})
    assert "t1" in engine.triggers.live and not refusals(user)  # only the type's provider may answer
    await provider.send({"type": "triggerregistrationresult", "id": "t1", "trigger_type": "tick", "error": error})
    assert "t1" in engine.triggers.parked
    [told] = refusals(user)
    assert told["id"] == "t1" and told["error"] == error


async def test_engine_register_trigger_waits_for_a_remote_providers_answer() -> None:
    engine = Engine()
    provider = await FakePeer.connect(engine, "provider")
    await provider.register_trigger_type("tick")
    accepted = asyncio.create_task(engine.register_trigger_for(None, "tick", "f", {"ok": 1}, None, ack_timeout=2))
    frame = await provider.next("registertrigger")
    await provider.send({"type": "triggerregistrationresult", "id": frame["id"], "trigger_type": "tick"})
    assert await accepted == frame["id"] and frame["id"] in engine.triggers.live
    refused = asyncio.create_task(engine.register_trigger_for(None, "tick", "f", {"ok": 0}, None, ack_timeout=2))
    frame = await provider.next("registertrigger")
    await provider.send({"type": "triggerregistrationresult", "id": frame["id"], "trigger_type": "tick",
                         "error": {"code": "bad", "message": "nope"}})
    with pytest.raises(FunctionError) as raised:
        await refused
    assert raised.value.code == E.TRIGGER_REGISTRATION_FAILED and "bad: nope" in raised.value.message
    assert engine.triggers.find(frame["id"]) is None
    silent = await engine.register_trigger_for(None, "tick", "f", {}, None, ack_timeout=0.01)
    assert silent in engine.triggers.live  # no answer in time: accepted
    assert not engine._pending_trigger_acks


# ------------------------------------------------------------------ in-process providers


async def test_an_in_process_provider_refusal_reaches_the_registrant() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    user = await FakePeer.connect(engine, "user")
    await user.register_trigger("ok", "rec", "u::f", {})
    await user.register_trigger("no", "rec", "u::f", {"refuse": True})
    assert set(recorder.armed) == {"ok"} and engine.triggers.find("no") is None
    [refusal] = refusals(user)
    assert refusal["id"] == "no" and refusal["error"]["code"] == E.TRIGGER_REGISTRATION_FAILED
    with pytest.raises(FunctionError) as raised:
        await engine.register_trigger_for(None, "rec", "f", {"refuse": True}, None)
    assert raised.value.code == E.TRIGGER_REGISTRATION_FAILED


async def test_fire_runs_the_bindings_function_with_its_metadata() -> None:
    engine = Engine()
    seen: list[tuple[Any, Any]] = []

    async def handler(data: Any, ctx: CallContext) -> Any:
        seen.append((data, ctx.metadata))
        return "done"

    engine.register_function("f", handler)
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    trigger_id = await engine.register_trigger("rec", "f", {}, metadata={"step": "s"})
    assert await engine.fire(recorder.armed[trigger_id], {"event": 1}) == "done"
    assert seen == [({"event": 1}, {"step": "s"})]


async def test_http_style_keys_take_over_and_restore_across_workers() -> None:
    engine = Engine()
    routes = Recorder()
    await engine.register_trigger_type("http", routes, binding_key=route_key)
    a, b = await FakePeer.connect(engine, "a"), await FakePeer.connect(engine, "b")
    await a.register_trigger("a1", "http", "a::get", {"method": "GET", "path": "/x"})
    await b.register_trigger("b1", "http", "b::get", {"method": "GET", "path": "/x"})
    assert set(routes.armed) == {"b1"} and routes.disarmed == ["a1"]  # b took /x over
    await a.register_trigger("a2", "http", "a::post", {"method": "POST", "path": "/x"})  # another key
    assert set(routes.armed) == {"b1", "a2"}
    await b.disconnect()
    assert set(routes.armed) == {"a1", "a2"}  # a serves GET /x again
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, expose=[ExposeRule(id_glob="*")]))
    await session.register_trigger("s1", "http", "s::get", {"method": "GET", "path": "/x"})
    assert set(routes.armed) == {"a1", "a2"}
    [refusal] = refusals(session)
    assert refusal["id"] == "s1" and refusal["error"]["code"] == E.FORBIDDEN


# ------------------------------------------------------------------ owners, RBAC and quotas


async def test_only_the_owner_may_unregister_a_binding() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    owner, other = await FakePeer.connect(engine, "owner"), await FakePeer.connect(engine, "other")
    await owner.register_trigger("t1", "rec", "f")
    await other.send({"type": "unregistertrigger", "id": "t1"})
    assert "t1" in recorder.armed
    [refusal] = refusals(other)
    assert refusal["error"]["code"] == E.FORBIDDEN
    with pytest.raises(FunctionError) as raised:
        await engine.unregister_trigger_for(other, "t1")
    assert raised.value.code == E.FORBIDDEN
    # an ownerless binding: any trusted worker may remove it, a session may not
    builtin = await engine.register_trigger("rec", "f")
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True))
    with pytest.raises(FunctionError):
        await engine.unregister_trigger_for(session, builtin)
    assert await engine.unregister_trigger_for(other, builtin)


async def test_a_session_binds_only_allowed_trigger_types() -> None:
    engine = Engine()
    await engine.register_trigger_type("rec", Recorder())
    await engine.register_trigger_type("state", Recorder())
    access = Access(rbac=True, expose=[ExposeRule(id_glob="*")], explicit_trigger_types=frozenset({"state"}))
    session = await FakePeer.connect(engine, "s", access=access)
    await session.register_trigger("t1", "state", "f", {})
    await session.register_trigger("t2", "rec", "f", {})
    assert engine.triggers.find("t1") is None and engine.triggers.find("t2") is not None
    [refusal] = refusals(session)
    assert refusal["id"] == "t1" and refusal["error"]["code"] == E.FORBIDDEN
    assert "explicit_trigger_types" in refusal["error"]["message"]
    limited = await FakePeer.connect(engine, "l", access=Access(rbac=True, allowed_trigger_types=frozenset({"state"})))
    with pytest.raises(FunctionError) as raised:
        await engine.register_trigger_for(limited, "rec", "f", {}, None)
    assert raised.value.code == E.FORBIDDEN and "allowed_trigger_types" in raised.value.message


@pytest.mark.parametrize("config", [
    {"condition_function_id": "secret::cond"},
    {"_condition_path": "secret::cond"},  # the iii <= 0.8 name of the same key
    {"middleware_function_ids": ["secret::mw"]},
])
async def test_a_session_may_not_bind_a_function_it_may_not_call(config: dict[str, Any]) -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    for fid in ("public::f", "secret::cond", "secret::mw"):
        engine.register_function(fid, noop)
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, expose=[ExposeRule(id_glob="public::*")]))
    await session.register_trigger("bad", "rec", "public::f", config)
    await session.register_trigger("target", "rec", "secret::cond", {})
    await session.register_trigger("ok", "rec", "public::f", {})
    assert set(recorder.armed) == {"ok"}
    assert {r["id"] for r in refusals(session)} == {"bad", "target"}
    assert all(r["error"]["code"] == E.FORBIDDEN for r in refusals(session))
    with pytest.raises(FunctionError) as raised:
        await engine.register_trigger_for(session, "rec", "public::f", config, None)
    assert raised.value.code == E.FORBIDDEN


async def test_a_guarded_binding_is_checked_again_when_it_fires() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    engine.register_function("public::f", noop, metadata={"public": True})
    session = await FakePeer.connect(
        engine, "s", access=Access(rbac=True, expose=[ExposeRule(metadata={"public": True})]))
    await session.register_trigger("t1", "rec", "public::f", {})
    binding = recorder.armed["t1"]
    assert binding.guarded and await engine.fire(binding, {"x": 1}) == {"x": 1}
    engine.register_function("public::f", noop, metadata={"public": False})  # re-registered, no longer exposed
    with pytest.raises(FunctionError) as raised:
        await engine.fire(binding, {"x": 1})
    assert raised.value.code == E.FORBIDDEN


async def test_a_binding_of_a_sessions_own_function_is_allowed() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True))
    await session.register_function("mine")
    await session.register_trigger("t1", "rec", "mine", {})
    assert "t1" in recorder.armed and not refusals(session)


async def test_a_trigger_registration_hook_remaps_or_denies() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)

    async def hook(reg: dict[str, Any], _ctx: CallContext) -> Any:
        return None if reg["trigger_id"] == "deny" else {"function_id": f"ns::{reg['function_id']}"}

    engine.register_function("hooks::trigger", hook)
    worker = await FakePeer.connect(
        engine, "w", access=Access(hooks=RegistrationHooks(on_trigger_registration="hooks::trigger"))
    )
    await worker.register_trigger("t1", "rec", "f", {})
    await worker.register_trigger("deny", "rec", "f", {})
    assert recorder.armed["t1"].function_id == "ns::f" and "deny" not in recorder.armed
    assert [r["id"] for r in refusals(worker)] == ["deny"]


async def test_max_triggers_per_worker_counts_frames_and_engine_calls() -> None:
    engine = Engine(EngineLimits(max_triggers_per_worker=2))
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, expose=[ExposeRule(id_glob="*")]))
    await session.register_trigger("t1", "rec", "f", {})
    await session.register_trigger("t1", "rec", "f", {"again": True})  # replacing its own is not a new one
    await engine.register_trigger_for(session, "rec", "f", {}, None)
    await session.register_trigger("t3", "rec", "f", {})
    [refusal] = refusals(session)
    assert refusal["id"] == "t3" and refusal["error"]["code"] == E.LIMIT_EXCEEDED
    with pytest.raises(FunctionError) as raised:
        await engine.register_trigger_for(session, "rec", "f", {}, None)
    assert raised.value.code == E.LIMIT_EXCEEDED
    assert len(session.triggers) == 2


async def test_condition_path_reaches_the_provider_as_condition_function_id() -> None:
    engine = Engine()
    recorder = Recorder()
    await engine.register_trigger_type("rec", recorder)
    worker = await FakePeer.connect(engine, "w")
    await worker.register_trigger("t1", "rec", "f", {"topic": "x", "_condition_path": "cond::f"})
    assert recorder.armed["t1"].config["condition_function_id"] == "cond::f"
    provider = await FakePeer.connect(engine, "p")
    await provider.register_trigger_type("remote")
    await worker.register_trigger("t2", "remote", "f", {"_condition_path": "cond::f"})
    frame = await provider.next("registertrigger")
    assert frame["config"] == {"_condition_path": "cond::f", "condition_function_id": "cond::f"}
