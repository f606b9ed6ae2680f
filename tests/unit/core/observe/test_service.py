"""Observers end to end in one engine with fake workers (spec iii-0.23-0.25 §5.4-§5.8, §5.14,
§5.15): the frame exchanges of the observing worker, the owner and the target."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core.access import Access
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.functions import CallContext
from tests.support.fake_peer import FakePeer
from tests.support.waiting import eventually

V1 = ("observe.v1", "local-dispatch.v1")


async def worker(engine: Engine, worker_id: str, *, v1: bool = True, name: str | None = None,
                 access: Access | None = None) -> FakePeer:
    peer = await FakePeer.connect(engine, worker_id, access=access)
    if v1:
        peer.features = V1
        peer.shared_features = frozenset(V1)
    peer.metadata.name = name
    return peer


def observe(oid: str, source: str, target: str, **fields: Any) -> dict[str, Any]:
    src: dict[str, Any] = {"function_id": source}
    for key in ("filters", "capture", "on", "deliver", "args", "namespace"):
        if key in fields:
            src[key] = fields.pop(key)
    return {"type": "observe", "id": oid, "source": src, "target": {"function_id": target}, **fields}


async def echo(data: Any, ctx: CallContext) -> Any:
    if isinstance(data, dict) and data.get("fail"):
        raise ValueError("boom")
    return {"echo": data}


@pytest.fixture
def engine() -> Engine:
    return Engine(EngineLimits(observer_ack_timeout_ms=200, observer_orphan_grace_ms=0))


async def test_routed_in_process_call_activates_a_matching_observer_with_an_envelope(engine: Engine) -> None:
    engine.register_function("orders::create", echo)
    target, watcher = await worker(engine, "t"), await worker(engine, "w")
    await target.register_function("alerts::notify")
    await watcher.send(observe("o1", "orders::create", "alerts::notify",
                               filters={"input.amount": {"$gte": 500}}, metadata={"team": "x"}))
    assert (await watcher.next("observeresult", id="o1"))["state"] == "active"
    await engine.call("orders::create", {"amount": 10})
    await engine.call("orders::create", {"amount": 750})
    call = await target.next_invoke(function_id="alerts::notify")
    data = call["data"]
    assert data["observer_id"] == "o1" and data["status"] == "success" and data["input"] == {"amount": 750}
    assert data["output"] == {"echo": {"amount": 750}} and data["function_id"] == "orders::create"
    assert {"activation_id", "invocation_id", "started_at_ms", "duration_ms", "namespace"} <= set(data)
    assert call["metadata"] == {"team": "x"} and call["observe_depth"] == 1
    assert call["activation"] == {"observer_id": "o1", "activation_id": data["activation_id"]}
    assert call["caller"]["function_id"] == "orders::create"
    await target.answer(call, result="ok")
    assert target.of_type("invokefunction") == []  # amount 10 activated nothing


async def test_worker_routed_call_is_an_event_without_the_injected_caller_key(engine: Engine) -> None:
    owner, target, watcher = await worker(engine, "own", v1=False), await worker(engine, "t", v1=False), \
        await worker(engine, "w")
    await owner.register_function("pay::charge")
    await target.register_function("audit::log")
    await watcher.send(observe("o1", "pay::charge", "audit::log", on="error", capture=["input", "error"]))
    assert (await watcher.next("observeresult", id="o1"))["state"] == "active"  # old owner: nobody to ask
    caller = await worker(engine, "c", name="checkout")
    for n, error in ((1, None), (2, {"code": "declined", "message": "no"})):
        await caller.invoke("pay::charge", {"n": n}, invocation_id=f"i{n}")
        call = await owner.next_invoke()
        await owner.answer(call, result={"n": n}, error=error)
        await caller.next_result(f"i{n}")
    activation = await target.next_invoke(function_id="audit::log")
    assert activation["data"]["input"] == {"n": 2} and activation["data"]["error"]["code"] == "declined"
    assert "output" not in activation["data"] and "caller" not in activation["data"]
    assert "activation" not in activation and "observe_depth" not in activation  # a pre-0.25 target
    assert target.of_type("invokefunction") == []


async def test_unobserved_functions_pay_nothing_and_others_observers_do_not_flag_them(engine: Engine) -> None:
    engine.register_function("a::watched", echo)
    other = engine.register_function("a::other", echo)
    engine.register_function("a::sink", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "a::watched", "a::sink"))
    await watcher.next("observeresult", id="o1")
    assert engine.functions.get("a::watched").observed and not other.observed  # type: ignore[union-attr]
    await watcher.send({"type": "unobserve", "id": "o1"})
    assert not engine.functions.get("a::watched").observed  # type: ignore[union-attr]


async def test_target_missing_is_pending_then_active_when_it_registers(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "late::target"))
    assert (await watcher.next("observeresult", id="o1"))["state"] == "pending"
    target = await worker(engine, "t")
    await target.register_function("late::target")
    assert (await watcher.next("observerstatechanged", id="o1"))["state"] == "active"
    await target.disconnect()
    changed = await watcher.next("observerstatechanged", id="o1")
    assert changed["state"] == "suspended" and changed["reason"]["code"] == "TARGET_UNAVAILABLE"


async def test_max_fires_disposes_after_the_last_activation(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    engine.register_function("t::sink", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::sink", max_fires=2))
    await watcher.next("observeresult", id="o1")
    for n in range(3):
        await engine.call("s::fn", {"n": n})
    disposed = await watcher.next("observerstatechanged", id="o1", state="disposed")
    assert disposed["fires"] == 2 and disposed["reason"]["code"] == "MAX_FIRES_REACHED"
    assert engine.functions.get("t::sink").invocations == 2  # type: ignore[union-attr]


async def test_replay_keeps_state_and_fires_and_another_connection_cannot_take_the_id(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    engine.register_function("t::sink", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::sink", max_fires=5))
    await watcher.next("observeresult", id="o1")
    await engine.call("s::fn", {})
    await eventually(lambda: engine.observe.registry.get("o1").fires == 1)  # type: ignore[union-attr]
    await watcher.send(observe("o1", "s::fn", "t::sink", max_fires=5))
    assert (await watcher.next("observeresult", id="o1"))["state"] == "active"
    assert engine.observe.registry.get("o1").fires == 1  # type: ignore[union-attr]
    thief = await worker(engine, "x")
    await thief.send(observe("o1", "s::fn", "t::sink"))
    answer = await thief.next("observeresult", id="o1")
    assert answer["state"] == "error" and answer["error"]["code"] == "INVALID_ARGS"


async def test_refusals_not_observable_args_on_auto_forbidden_and_limits() -> None:
    engine = Engine(EngineLimits(max_observers_per_worker=1))
    owner = await worker(engine, "own")
    await owner.register_function("priv::fn", observe={"allow": False})
    engine.register_function("pub::fn", echo)
    watcher = await worker(engine, "w")
    cases = [
        (observe("a", "priv::fn", "pub::fn"), "NOT_OBSERVABLE"),
        (observe("b", "pub::fn", "pub::fn", args={"k": 1}), "INVALID_ARGS"),
        (observe("c", "pub::fn", "pub::fn", filters={"input.x": 5}), "INVALID_FILTER"),
    ]
    for frame, code in cases:
        await watcher.send(frame)
        assert (await watcher.next("observeresult", id=frame["id"]))["error"]["code"] == code
    await watcher.send(observe("d", "pub::fn", "pub::fn"))
    await watcher.next("observeresult", id="d")
    await watcher.send(observe("e", "pub::fn", "pub::fn"))
    assert (await watcher.next("observeresult", id="e"))["error"]["code"] == "LIMIT_EXCEEDED"
    session = await worker(engine, "rbac", access=Access(rbac=True))
    await session.send(observe("f", "pub::fn", "pub::fn"))
    assert (await session.next("observeresult", id="f"))["error"]["code"] == "FORBIDDEN"


async def test_v1_owner_accepts_with_an_ack_and_rejects_late(engine: Engine) -> None:
    owner, watcher = await worker(engine, "own"), await worker(engine, "w")
    await owner.register_function("s::fn")
    engine.register_function("t::sink", echo)
    await watcher.send(observe("o1", "s::fn", "t::sink", filters={"input.k": {"$eq": 1}}))
    assert (await watcher.next("observeresult", id="o1"))["state"] == "pending"
    added = await owner.next("observeradded")
    assert added["function_id"] == "s::fn" and added["revision"] == 1
    assert added["observer"] == {"id": "o1", "args": {}, "filters": {"input.k": {"$eq": 1}}, "target": "t::sink",
                                 "capture": ["input", "output", "caller"], "on": "success"}
    stranger = await worker(engine, "x")
    await stranger.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 1})
    assert engine.observe.registry.get("o1").state == "pending"  # type: ignore[union-attr]
    await owner.send({"type": "observerack", "function_id": "s::fn", "namespace": "default", "id": "o1",
                      "revision": 1})
    assert (await watcher.next("observerstatechanged", id="o1"))["state"] == "active"
    await owner.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 1,
                      "error": {"code": "OBSERVE_REJECTED", "message": "kaput"}})
    changed = await watcher.next("observerstatechanged", id="o1")
    assert changed["state"] == "error" and changed["reason"]["code"] == "OBSERVE_REJECTED"
    removed = await owner.next("observerremoved")
    assert removed["id"] == "o1" and removed["revision"] == 2
    assert engine.observer_sets.snapshot("default", "s::fn") == (2, [])


async def test_owner_that_never_acks_times_out(engine: Engine) -> None:
    owner, watcher = await worker(engine, "own"), await worker(engine, "w")
    await owner.register_function("s::fn")
    engine.register_function("t::sink", echo)
    await watcher.send(observe("o1", "s::fn", "t::sink"))
    changed = await watcher.next("observerstatechanged", id="o1")
    assert changed["state"] == "error" and changed["reason"]["code"] == "OWNER_TIMEOUT"


async def test_owner_gone_suspends_and_owner_back_gets_the_full_set(engine: Engine) -> None:
    owner, watcher = await worker(engine, "own"), await worker(engine, "w")
    await owner.register_function("s::fn")
    engine.register_function("t::sink", echo)
    await watcher.send(observe("o1", "s::fn", "t::sink"))
    await owner.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 1})
    await watcher.next("observerstatechanged", id="o1", state="active")
    await owner.disconnect()
    assert (await watcher.next("observerstatechanged", id="o1"))["reason"]["code"] == "SOURCE_UNAVAILABLE"
    back = await worker(engine, "own2")
    await back.register_function("s::fn")
    revision, observers = engine.observer_sets.snapshot("default", "s::fn")
    assert [o["id"] for o in observers] == ["o1"]
    assert (await watcher.next("observerstatechanged", id="o1"))["state"] == "pending"
    await back.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": revision})
    assert (await watcher.next("observerstatechanged", id="o1"))["state"] == "active"


async def test_reports_activate_only_from_the_owner_and_only_active_observers(engine: Engine) -> None:
    owner, watcher = await worker(engine, "own"), await worker(engine, "w")
    await owner.register_function("s::fn")
    engine.register_function("t::sink", echo)
    await watcher.send(observe("o1", "s::fn", "t::sink", capture=["input"]))
    await owner.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 1})
    item = {"function_id": "s::fn", "namespace": "default", "invocation_id": "loc-1", "matched": ["o1", "nope"],
            "status": "success", "input": {"k": 1}, "output": {"r": 2}, "started_at_ms": 1, "duration_ms": 0.5,
            "observe_depth": 0}
    seen: list[Any] = []

    async def sink(data: Any, ctx: CallContext) -> None:
        seen.append((data, ctx.observe_depth))

    engine.register_function("t::sink", sink)
    stranger = await worker(engine, "x")
    await stranger.send({"type": "invocationsobserved", "items": [item]})
    await owner.send({"type": "invocationsobserved", "items": [item, "garbage", {"function_id": 3}]})
    await eventually(lambda: len(seen) == 1)
    data, depth = seen[0]
    assert data["invocation_id"] == "loc-1" and data["input"] == {"k": 1} and "output" not in data and depth == 1


async def test_loop_protection_drops_activations_past_the_depth_limit(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    target = await worker(engine, "t")
    await target.register_function("t::loop")
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::loop"))
    caller = await worker(engine, "c")
    await caller.invoke("s::fn", {}, invocation_id="deep", observe_depth=8)
    await caller.next_result("deep")
    await caller.invoke("s::fn", {}, invocation_id="ok", observe_depth=7)
    await caller.next_result("ok")
    call = await target.next_invoke()
    assert call["observe_depth"] == 8
    assert engine.observe.activations.depth_drops == 1 and engine.observe.registry.get("o1").state == "active"  # type: ignore[union-attr]


async def test_max_in_flight_queues_and_loses_nothing(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    target, watcher = await worker(engine, "t"), await worker(engine, "w")
    await target.register_function("t::slow")
    await watcher.send(observe("o1", "s::fn", "t::slow", max_in_flight=1, deliver="input"))
    for n in range(3):
        await engine.call("s::fn", n)
    for n in range(3):
        call = await target.next_invoke()
        assert call["data"] == n and target.of_type("invokefunction") == []  # one at a time
        await target.answer(call, result=None)


async def test_owner_call_runs_the_stored_target_and_answers_the_owner(engine: Engine) -> None:
    owner, watcher = await worker(engine, "own", name="sched"), await worker(engine, "w")
    await owner.register_function("sched::tick", observe={"delivery": "owner", "args_format": {
        "type": "object", "required": ["expression"], "properties": {"expression": {"type": "string"}}}})
    engine.register_function("t::sink", echo)
    await watcher.send(observe("bad", "sched::tick", "t::sink", args={"expression": 5}))
    assert (await watcher.next("observeresult", id="bad"))["error"]["code"] == "INVALID_ARGS"
    await watcher.send(observe("o1", "sched::tick", "t::sink", args={"expression": "* * *"}))
    assert (await owner.next("observeradded"))["observer"]["args"] == {"expression": "* * *"}
    await owner.send({"type": "observerack", "function_id": "sched::tick", "id": "o1", "revision": 1})
    await owner.invoke("t::sink", {"kind": "tick"}, invocation_id="call-1", activation={"observer_id": "o1"})
    assert (await owner.next_result("call-1"))["result"] == {"echo": {"kind": "tick"}}
    other = await worker(engine, "x")
    await other.invoke("t::sink", {}, invocation_id="call-2", activation={"observer_id": "o1"})
    assert (await other.next_result("call-2"))["error"]["code"] == "FORBIDDEN"
    await owner.invoke("t::sink", {}, invocation_id="call-3", activation={"observer_id": "nope"})
    assert (await owner.next_result("call-3"))["error"]["code"] == "OBSERVER_NOT_ACTIVE"
    assert not engine.functions.get("sched::tick").observed  # type: ignore[union-attr]  # calls are no events


async def test_observing_worker_gone_disposes_and_reattach_transfers(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    engine.register_function("t::sink", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::sink"))
    await watcher.send(observe("o2", "s::fn", "t::sink"))
    fresh = await worker(engine, "w2")
    await fresh.send({"type": "reattach", "previous_worker_id": "w", "reattach_token": "token-w"})
    assert {o.id for o in engine.observe.registry.of_peer("w2")} == {"o1", "o2"}
    await fresh.send({"type": "unobserve", "id": "o2"})
    await fresh.disconnect()
    assert len(engine.observe.registry) == 0


async def test_orphans_are_adopted_by_the_same_worker_within_the_grace() -> None:
    engine = Engine(EngineLimits(observer_orphan_grace_ms=5_000))
    engine.register_function("s::fn", echo)
    engine.register_function("t::sink", echo)
    watcher = await worker(engine, "w", name="alerts")
    await watcher.send(observe("o1", "s::fn", "t::sink", max_fires=3))
    await watcher.disconnect()
    await engine.call("s::fn", {})  # still firing while its worker is away
    stranger = await worker(engine, "x", name="other")
    await stranger.send(observe("o1", "s::fn", "t::sink"))
    assert (await stranger.next("observeresult", id="o1"))["state"] == "error"
    back = await worker(engine, "w-again", name="alerts")
    await back.send(observe("o1", "s::fn", "t::sink", max_fires=3))
    assert (await back.next("observeresult", id="o1"))["state"] == "active"
    await eventually(lambda: engine.observe.registry.get("o1").fires == 1)  # type: ignore[union-attr]


async def test_expiry_disposes(engine: Engine) -> None:
    engine.register_function("s::fn", echo)
    engine.register_function("t::sink", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::sink", expires_in_ms=50))
    changed = await watcher.next("observerstatechanged", id="o1", state="disposed")
    assert changed["reason"]["code"] == "EXPIRED"
    await engine.call("s::fn", {})
    assert engine.functions.get("t::sink").invocations == 0  # type: ignore[union-attr]


async def test_filter_limits_come_from_the_engine_config() -> None:
    engine = Engine(EngineLimits(observe_filter_limits={"max_depth": 1}))
    engine.register_function("s::fn", echo)
    watcher = await worker(engine, "w")
    nested = {"$or": [{"input.a": {"$eq": 1}}, {"input.b": {"$eq": 2}}]}
    await watcher.send(observe("o1", "s::fn", "s::fn", filters=nested))
    assert (await watcher.next("observeresult", id="o1"))["error"]["code"] == "INVALID_FILTER"
    with pytest.raises(ValueError, match="unknown filter limit"):
        EngineLimits(observe_filter_limits={"max_depht": 3})


async def test_legacy_shim_turns_an_old_trigger_into_an_observer(engine: Engine) -> None:
    owner = await worker(engine, "own")
    await owner.register_function("sched::tick", observe={"delivery": "owner", "legacy_trigger_type": "tick",
                                                          "args_format": {"type": "object", "required": ["every"]}})
    old = await worker(engine, "old", v1=False)
    await old.register_function("x::y")
    await old.register_trigger("t1", "tick", "x::y", {"every": 5}, metadata={"m": 1})
    added = await owner.next("observeradded")
    assert added["observer"]["id"] == "t1" and added["observer"]["args"] == {"every": 5}
    assert added["observer"]["legacy"] == {"trigger_type": "tick", "config": {"every": 5}}
    assert added["observer"]["target"] == "x::y"
    await owner.send({"type": "observerack", "function_id": "sched::tick", "id": "t1", "revision": 1})
    await owner.send({"type": "invocationsobserved", "items": [{
        "function_id": "sched::tick", "invocation_id": "e1", "matched": ["t1"], "status": "success",
        "input": {"kind": "tick"}, "started_at_ms": 1, "duration_ms": 0, "observe_depth": 0}]})
    call = await old.next_invoke(function_id="x::y")
    assert call["data"]["input"] == {"kind": "tick"} and call["metadata"] == {"m": 1}
    assert "activation" not in call  # an old target gets the envelope only
    await old.send({"type": "unregistertrigger", "id": "t1"})
    assert (await owner.next("observerremoved"))["id"] == "t1"
    # A refusal reaches the old client in the one frame it reads.
    await old.register_trigger("t2", "tick", "x::y", {"nope": 1})
    refused = await old.next("triggerregistrationresult", id="t2")
    assert refused["error"]["code"] == "INVALID_ARGS"
    await old.register_trigger("t3", "tick", "x::y", {"every": 1})
    await owner.send({"type": "observerack", "function_id": "sched::tick", "id": "t3", "revision": 3,
                      "error": {"code": "INVALID_CRON_EXPRESSION", "message": "bad"}})
    assert (await old.next("triggerregistrationresult", id="t3"))["error"]["code"] == "INVALID_CRON_EXPRESSION"
    assert engine.triggers.find("t1") is None and engine.triggers.find("t3") is None  # no pending bindings


async def test_a_real_trigger_type_provider_wins_over_the_shim(engine: Engine) -> None:
    owner = await worker(engine, "own")
    await owner.register_function("sched::tick", observe={"delivery": "owner", "legacy_trigger_type": "tick"})
    provider = await worker(engine, "prov", v1=False)
    await provider.register_trigger_type("tick")
    old = await worker(engine, "old", v1=False)
    await old.register_trigger("t1", "tick", "x::y", {})
    await provider.next("registertrigger", id="t1")
    assert engine.observe.registry.get("t1") is None


async def test_an_activation_is_a_span_in_the_source_trace(engine: Engine) -> None:
    ended: list[Any] = []
    engine.tracer.install(ended.append)
    engine.register_function("s::fn", echo)
    target = await worker(engine, "t")
    await target.register_function("t::sink")
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "t::sink"))
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await engine.call("s::fn", {}, traceparent=parent)
    call = await target.next_invoke()
    assert call["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    await target.answer(call, result=None)
    span = await eventually(lambda: [s for s in ended if s.name == "observe o1"], what="the activation span")
    assert span[0].attributes["iii.observer.target"] == "t::sink"


async def test_a_reattach_after_the_cleanup_takes_the_orphans_with_the_right_token() -> None:
    engine = Engine(EngineLimits(observer_orphan_grace_ms=5_000))
    engine.register_function("s::fn", echo)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "s::fn", "s::fn"))
    await watcher.disconnect()
    forger = await worker(engine, "f")
    await forger.send({"type": "reattach", "previous_worker_id": "w", "reattach_token": "guess"})
    assert engine.observe.registry.of_peer("f") == []
    back = await worker(engine, "w2")
    await back.send({"type": "reattach", "previous_worker_id": "w", "reattach_token": "token-w"})
    assert [o.id for o in engine.observe.registry.of_peer("w2")] == ["o1"]
    await back.send(observe("o1", "s::fn", "s::fn"))
    assert (await back.next("observeresult", id="o1"))["state"] == "active"


async def test_an_observer_the_owner_got_in_its_set_is_removed_there_too(engine: Engine) -> None:
    watcher = await worker(engine, "w")
    engine.register_function("t::sink", echo)
    await watcher.send(observe("o1", "s::fn", "t::sink"))  # before the source exists: revision 0
    owner = await worker(engine, "own")
    await owner.register_function("s::fn")
    assert engine.observer_sets.snapshot("default", "s::fn") == (0, [engine.observe.registry.get("o1").info()])  # type: ignore[union-attr]
    await owner.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 0})
    assert (await watcher.next("observerstatechanged", id="o1"))["state"] == "active"
    await watcher.send({"type": "unobserve", "id": "o1"})
    removed = await owner.next("observerremoved")
    assert removed["id"] == "o1" and removed["revision"] == 1


async def test_reports_of_a_prefixed_owner_name_its_own_ids(engine: Engine) -> None:
    owner = await worker(engine, "own", access=Access(function_registration_prefix="team"))
    await owner.register_function("s::fn")
    seen: list[Any] = []

    async def sink(data: Any, ctx: CallContext) -> None:
        seen.append(data)

    engine.register_function("t::sink", sink)
    watcher = await worker(engine, "w")
    await watcher.send(observe("o1", "team::s::fn", "t::sink"))
    added = await owner.next("observeradded")
    assert added["function_id"] == "s::fn"  # as the worker registered it
    await owner.send({"type": "observerack", "function_id": "s::fn", "id": "o1", "revision": 1})
    await owner.send({"type": "invocationsobserved", "items": [{
        "function_id": "s::fn", "namespace": "default", "invocation_id": "l1", "matched": ["o1"],
        "status": "success", "input": {}, "started_at_ms": 1, "duration_ms": 0}]})
    await eventually(lambda: seen)
    assert seen[0]["function_id"] == "team::s::fn"
