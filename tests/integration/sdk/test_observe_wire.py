"""pyiii.sdk's side of iii 0.25 (spec iii-0.23-0.25 §2, §3, §5), pinned against the scripted engine:
features, the observing side (observe / replay / unobserve), local dispatch and its stats, the
invocation context and the caller fields of outgoing calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyiii.sdk import III, InitOptions, ObserveRejection, ReconnectionConfig, TriggerAction, current_invocation
from tests.support.scripted_engine import ScriptedEngine
from tests.support.waiting import eventually, stays

ENGINE_FEATURES = ["observe.v1", "local-dispatch.v1"]


def options(**extra: Any) -> InitOptions:
    return InitOptions(worker_name="obs-test", reconnection_config=ReconnectionConfig(initial_delay_ms=20,
                       max_delay_ms=50), **extra)


@pytest.fixture
async def plain_engine() -> AsyncIterator[ScriptedEngine]:
    scripted = await ScriptedEngine().start()
    yield scripted
    await scripted.stop()


@pytest.fixture
async def engine() -> AsyncIterator[ScriptedEngine]:
    scripted = await ScriptedEngine(features=ENGINE_FEATURES, ack_functions=True).start()
    yield scripted
    await scripted.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[III]]:
    made: list[III] = []
    yield made
    for client in made:
        await asyncio.to_thread(client.shutdown)


async def connect(engine: ScriptedEngine, clients: list[III], **extra: Any) -> III:
    client = III(engine.url, options(**extra))
    clients.append(client)
    await engine.wait_frame("invokefunction", function_id="engine::workers::register")
    return client


def routed(engine: ScriptedEngine, function_id: str) -> list[dict[str, Any]]:
    return [f for f in engine.frames("invokefunction") if f.get("function_id") == function_id]


async def runs_locally(client: III, engine: ScriptedEngine, function_id: str, payload: Any = None) -> None:
    """Wait until a call of ``function_id`` no longer reaches the engine (its functionregistered
    arrived); calls made before that were routed, and the scripted engine answered them."""

    async def local_now() -> bool:
        before = len(routed(engine, function_id))
        await client.trigger_async({"function_id": function_id, "payload": payload})
        return len(routed(engine, function_id)) == before

    await eventually(local_now, what=f"{function_id} runs in-process")


# ----------------------------------------------------------------------------- features (§2)


async def test_register_payload_declares_the_sdk_features(plain_engine: ScriptedEngine, clients: list[III]) -> None:
    await connect(plain_engine, clients)
    register = await plain_engine.wait_frame("invokefunction", function_id="engine::workers::register")
    assert register["data"]["features"] == ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


async def test_observe_descriptor_carries_only_what_was_set(plain_engine: ScriptedEngine,
                                                            clients: list[III]) -> None:
    from pyiii.sdk import ObserveHooks

    client = await connect(plain_engine, clients)
    client.register_function("a::plain", lambda d: d)
    client.register_function("a::closed", lambda d: d, observe={"allow": False})
    client.register_function("a::owner", lambda d: d, observe=ObserveHooks(
        delivery="owner", args_format={"type": "object"}, legacy_trigger_type="tick",
        on_observer_added=lambda obs: None))
    frames = {f["id"]: f for f in [await plain_engine.wait_frame("registerfunction", id=i)
                                   for i in ("a::plain", "a::closed", "a::owner")]}
    assert "observe" not in frames["a::plain"]
    assert frames["a::closed"]["observe"] == {"allow": False}
    assert frames["a::owner"]["observe"] == {"delivery": "owner", "args_format": {"type": "object"},
                                             "legacy_trigger_type": "tick"}


async def test_a_bad_observe_descriptor_is_refused_locally(plain_engine: ScriptedEngine,
                                                           clients: list[III]) -> None:
    from pyiii.sdk import InvocationError

    client = await connect(plain_engine, clients)
    with pytest.raises(InvocationError) as err:
        client.register_function("a::b", lambda d: d, observe={"args_format": {"type": "object"}})
    assert err.value.code == "INVALID_OBSERVE_DESCRIPTOR"


# ----------------------------------------------------------------------------- observing side (§5.3.1-4)


async def test_observe_without_observe_v1_is_unsupported_and_sends_nothing(
    plain_engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(plain_engine, clients)
    handle = client.observe({"function_id": "x::src"}, "x::dst")
    with pytest.raises(ObserveRejection) as err:
        await asyncio.wait_for(handle.ready_async(), 5)
    assert err.value.code == "UNSUPPORTED"
    assert handle.state == "error" and handle.reason is not None and handle.reason["code"] == "UNSUPPORTED"
    assert plain_engine.frames("observe") == []


async def test_observe_sends_only_what_the_caller_set_and_follows_the_engine(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients, namespace="orders")
    handle = client.observe(
        {"function_id": "payments::charge", "filters": {"input.amount": {"$gte": 500}}, "on": "error"},
        {"function_id": "alerts::notify"}, {"id": "obs-1", "max_fires": 3, "metadata": {"team": "b"}},
    )
    frame = await engine.wait_frame("observe", id="obs-1")
    assert frame == {"type": "observe", "id": "obs-1",
                     "source": {"function_id": "payments::charge", "namespace": "orders",
                                "filters": {"input.amount": {"$gte": 500}}, "on": "error"},
                     "target": {"function_id": "alerts::notify", "namespace": "orders"},
                     "metadata": {"team": "b"}, "max_fires": 3}
    other = client.observe({"function_id": "engine::functions::list"}, "alerts::notify")
    assert (await engine.wait_frame("observe", id=other.id))["source"]["namespace"] == "default"
    assert handle.state == "pending"

    await engine.push({"type": "observeresult", "id": "obs-1", "state": "active"})
    await asyncio.wait_for(handle.ready_async(), 5)
    await engine.push({"type": "observerstatechanged", "id": "obs-1", "state": "suspended",
                       "reason": {"code": "TARGET_UNAVAILABLE", "message": "away"}, "fires": 2})
    await eventually(lambda: handle.state == "suspended" and handle.fires == 2)
    assert handle.reason == {"code": "TARGET_UNAVAILABLE", "message": "away"}

    handle.dispose()
    assert handle.state == "disposed"
    assert await engine.wait_frame("unobserve", id="obs-1") == {"type": "unobserve", "id": "obs-1"}


async def test_an_engine_error_makes_ready_raise_its_code(engine: ScriptedEngine, clients: list[III]) -> None:
    client = await connect(engine, clients)
    handle = client.observe({"function_id": "s::f", "filters": {"input.x": 5}}, "t::f", {"id": "bad"})
    await engine.wait_frame("observe", id="bad")
    await engine.push({"type": "observeresult", "id": "bad", "state": "error",
                       "error": {"code": "INVALID_FILTER", "message": "literal"}})
    with pytest.raises(ObserveRejection) as err:
        await asyncio.to_thread(handle.ready, 5)
    assert err.value.code == "INVALID_FILTER"


async def test_observers_are_replayed_on_reconnect_and_unobserve_waits_for_a_connection(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients)
    kept = client.observe({"function_id": "s::f"}, "t::f", {"id": "kept"})
    gone = client.observe({"function_id": "s::f"}, "t::f", {"id": "gone"})
    first = await engine.wait_frame("observe", id="kept", connection=0)
    await engine.wait_frame("observe", id="gone", connection=0)

    await engine.close(0)
    await eventually(lambda: client.get_connection_state() != "connected")
    gone.dispose()  # offline: queued for the next connection
    await engine.wait_connections(2)
    assert await engine.wait_frame("unobserve", id="gone", connection=1)
    assert await engine.wait_frame("observe", id="kept", connection=1) == first
    await stays(lambda: not engine.frames("observe", connection=1)[1:], 0.3, what="no replay of a disposed one")
    assert kept.state == "pending"


# ----------------------------------------------------------------------------- local dispatch (§3)


async def test_a_confirmed_own_function_runs_in_process(engine: ScriptedEngine, clients: list[III]) -> None:
    client = await connect(engine, clients, local_stats_interval_s=0.2)
    seen: list[Any] = []

    def double(data: Any) -> Any:
        seen.append(current_invocation())
        return {"n": data["n"] * 2}

    client.register_function("math::double", double)
    # the scripted engine answers with functionregistered{local_dispatch: true}
    await runs_locally(client, engine, "math::double", {"n": 2})
    before = len(routed(engine, "math::double"))
    assert await client.trigger_async({"function_id": "math::double", "payload": {"n": 21}}) == {"n": 42}
    assert len(routed(engine, "math::double")) == before
    ctx = seen[-1]
    assert ctx.function_id == "math::double" and ctx.caller["worker_name"] == "obs-test"
    assert ctx.caller["worker_id"] == engine.worker_ids[0]

    stats = await engine.wait_frame("localinvocationstats")
    [row] = stats["functions"]
    assert row["function_id"] == "math::double" and row["count"] >= 1 and row["errors"] == 0
    assert stats["dropped_reports"] == [] and isinstance(stats["window_ms"], int)

    # remote on request, enqueue always
    await client.trigger_async({"function_id": "math::double", "payload": {"n": 1}, "dispatch": "remote"})
    await client.trigger_async({"function_id": "math::double", "payload": {"n": 1},
                                "action": TriggerAction.Enqueue(queue="q")})
    assert len(routed(engine, "math::double")) == before + 2
    with pytest.raises(ValueError):
        await client.trigger_async({"function_id": "math::double", "payload": {}, "dispatch": "elsewhere"})


async def test_local_failures_have_the_remote_shape(engine: ScriptedEngine, clients: list[III]) -> None:
    from pyiii.sdk import InvocationError

    client = await connect(engine, clients)

    def boom(_data: Any) -> None:
        raise RuntimeError("kaput")

    client.register_function("x::boom", boom)
    await engine.wait_frame("registerfunction", id="x::boom")
    await engine.wait_frame("invokefunction", function_id="engine::workers::register")

    async def fails_locally() -> bool:
        try:
            await client.trigger_async({"function_id": "x::boom", "payload": {}})
        except InvocationError as exc:
            return exc.code == "invocation_failed" and exc.message == "kaput" and "kaput" in (exc.stacktrace or "")
        return False

    await eventually(fails_locally)  # routed calls get the scripted engine's null, not an error


async def test_a_namespace_conflict_sends_its_calls_through_the_engine(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients)
    client.register_function("x::mine", lambda d: "local")
    await runs_locally(client, engine, "x::mine")
    await engine.push({"type": "registrationrejected", "code": "FUNCTION_NAMESPACE_CONFLICT",
                       "namespace": "default", "function_id": "x::mine", "owner_worker_id": "w-other"})
    await eventually(lambda: _routed_after_call(client, engine, "x::mine"))


async def _routed_after_call(client: III, engine: ScriptedEngine, function_id: str) -> bool:
    await client.trigger_async({"function_id": function_id, "payload": {}})
    return bool(routed(engine, function_id))


async def test_nested_local_calls_stop_at_64(engine: ScriptedEngine, clients: list[III]) -> None:
    client = await connect(engine, clients)

    async def down(n: int) -> Any:
        if n == 0:
            return "bottom"
        return await client.trigger_async({"function_id": "rec::down", "payload": n - 1})

    client.register_function("rec::down", down)
    await runs_locally(client, engine, "rec::down", 0)
    before = len(routed(engine, "rec::down"))
    assert await client.trigger_async({"function_id": "rec::down", "payload": 100}) is None  # engine: null
    assert [c["data"] for c in routed(engine, "rec::down")[before:]] == [100 - 64]


async def test_local_dispatch_waits_for_the_engine_and_honours_the_option(
    plain_engine: ScriptedEngine, clients: list[III]
) -> None:
    """No functionregistered (an engine without observe.v1): every call is routed."""
    client = await connect(plain_engine, clients)
    client.register_function("x::f", lambda d: "local")
    await plain_engine.wait_frame("registerfunction", id="x::f")
    assert await client.trigger_async({"function_id": "x::f", "payload": {}}) is None  # the engine answered
    assert len(routed(plain_engine, "x::f")) == 1
    await stays(lambda: not plain_engine.frames("localinvocationstats"), 0.3)


# ----------------------------------------------------------------------------- invocation context (§5.3.9, §5.9)


async def test_handlers_see_the_invocation_and_their_calls_carry_caller_and_depth(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients)
    seen: list[Any] = []

    async def notify(data: Any) -> str:
        seen.append(current_invocation())
        await client.trigger_async({"function_id": "other::fn", "payload": {"x": 1}})
        return "ok"

    client.register_function("alerts::notify", notify)
    await engine.wait_frame("registerfunction", id="alerts::notify")
    await engine.push({
        "type": "invokefunction", "invocation_id": "inv-1", "function_id": "alerts::notify", "data": {},
        "caller": {"worker_id": "w-1", "worker_name": "payments", "function_id": "api::checkout",
                   "invocation_id": "up-1", "parent": {"worker_name": "gw", "parent": {"x": "dropped"}}, "n": 5},
        "observe_depth": 2, "activation": {"observer_id": "o-1", "activation_id": "a-1"},
    })
    await engine.wait_frame("invocationresult", invocation_id="inv-1")
    ctx = seen[0]
    assert ctx.invocation_id == "inv-1" and ctx.observe_depth == 2
    assert ctx.activation == {"observer_id": "o-1", "activation_id": "a-1"}
    assert ctx.caller == {"worker_id": "w-1", "worker_name": "payments", "function_id": "api::checkout",
                          "invocation_id": "up-1", "parent": {"worker_name": "gw"}}
    [out] = routed(engine, "other::fn")
    assert out["caller"] == {"function_id": "alerts::notify", "invocation_id": "inv-1",
                             "parent": {"worker_id": "w-1", "worker_name": "payments",
                                        "function_id": "api::checkout", "invocation_id": "up-1"}}
    assert out["observe_depth"] == 2
    assert current_invocation() is None


async def test_calls_carry_no_caller_without_observe_v1(plain_engine: ScriptedEngine, clients: list[III]) -> None:
    client = await connect(plain_engine, clients)

    async def relay(_data: Any) -> None:
        await client.trigger_async({"function_id": "other::fn", "payload": {}})

    client.register_function("a::relay", relay)
    await plain_engine.wait_frame("registerfunction", id="a::relay")
    await plain_engine.push({"type": "invokefunction", "invocation_id": "i-2", "function_id": "a::relay",
                             "data": {}, "observe_depth": 3})
    await plain_engine.wait_frame("invocationresult", invocation_id="i-2")
    [out] = routed(plain_engine, "other::fn")
    assert "caller" not in out and "observe_depth" not in out


# ----------------------------------------------------------------------------- owner side (§3.1, §5.6, §5.3.8)


async def test_an_owner_acks_its_set_and_reports_matching_local_calls(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients, namespace="orders")
    ref = client.register_function("orders::create", lambda order: {"order_id": "o-1", **order})
    await runs_locally(client, engine, "orders::create", {"amount": 1})
    await engine.push({"type": "functionregistered", "id": "orders::create", "namespace": "orders", "revision": 1,
                       "local_dispatch": True,
                       "observers": [{"id": "obs-auto-1", "args": {}, "filters": {"input.amount": {"$gte": 500}},
                                      "target": "alerts::notify", "capture": ["input", "output", "caller"],
                                      "on": "success"}]})
    ack = await engine.wait_frame("observerack", id="obs-auto-1")
    assert ack == {"type": "observerack", "function_id": "orders::create", "namespace": "orders",
                   "id": "obs-auto-1", "revision": 1}
    assert ref.is_observed() and [o.id for o in ref.observers()] == ["obs-auto-1"]

    assert await client.trigger_async({"function_id": "orders::create", "payload": {"amount": 10}}) == {
        "order_id": "o-1", "amount": 10}
    assert await client.trigger_async({"function_id": "orders::create", "payload": {"amount": 750}}) == {
        "order_id": "o-1", "amount": 750}
    report = await engine.wait_frame("invocationsobserved")
    [item] = report["items"]
    assert item["function_id"] == "orders::create" and item["namespace"] == "orders"
    assert item["matched"] == ["obs-auto-1"] and item["status"] == "success"
    assert item["input"] == {"amount": 750} and item["output"] == {"order_id": "o-1", "amount": 750}
    assert item["caller"] == {"worker_id": engine.worker_ids[0], "worker_name": "obs-test"}
    assert item["observe_depth"] == 0 and isinstance(item["started_at_ms"], int)
    assert "error" not in item and "metadata" not in item
    await stays(lambda: len(engine.frames("invocationsobserved")) == 1, 0.2, what="only the matching call")


async def test_owner_delivery_hooks_emit_and_call(engine: ScriptedEngine, clients: list[III]) -> None:
    from pyiii.sdk import ObserveHooks, Observer

    client = await connect(engine, clients)
    added: list[Observer] = []

    def on_added(obs: Observer) -> None:
        if obs.args.get("expression") == "bad":
            raise ObserveRejection("INVALID_CRON_EXPRESSION", "invalid day-of-week field")
        added.append(obs)

    client.register_function("cron::tick", lambda _d: None, observe=ObserveHooks(
        delivery="owner", args_format={"type": "object"}, on_observer_added=on_added))
    await engine.wait_frame("registerfunction", id="cron::tick")
    await engine.wait_frame("invokefunction", function_id="engine::workers::register")
    await engine.push({"type": "observeradded", "function_id": "cron::tick", "namespace": "default", "revision": 2,
                       "observer": {"id": "o-bad", "args": {"expression": "bad"}, "target": "t::f"}})
    await engine.push({"type": "observeradded", "function_id": "cron::tick", "namespace": "default", "revision": 3,
                       "observer": {"id": "o-good", "args": {"expression": "*"}, "target": "t::f",
                                    "capture": ["input"]}})
    bad = await engine.wait_frame("observerack", id="o-bad")
    assert bad["error"] == {"code": "INVALID_CRON_EXPRESSION", "message": "invalid day-of-week field"}
    assert bad["revision"] == 2
    assert "error" not in await engine.wait_frame("observerack", id="o-good", revision=3)
    [obs] = added
    assert obs.legacy is None and obs.args == {"expression": "*"}

    assert await asyncio.to_thread(obs.emit, {"kind": "tick"})
    report = await engine.wait_frame("invocationsobserved")
    [item] = report["items"]
    assert item["matched"] == ["o-good"] and item["input"] == {"kind": "tick"} and item["duration_ms"] == 0
    assert "caller" not in item  # not captured

    assert await asyncio.to_thread(obs.call, {"n": 1}) is None  # the scripted engine answers null
    [call] = routed(engine, "t::f")
    assert call["activation"] == {"observer_id": "o-good"} and "namespace" not in call and "caller" not in call
    assert call["data"] == {"n": 1}


async def test_local_dispatch_can_be_declined_and_stats_go_out_at_shutdown(engine: ScriptedEngine) -> None:
    client = III(engine.url, options(local_stats_interval_s=3600))
    try:
        await engine.wait_frame("invokefunction", function_id="engine::workers::register")
        client.register_function("x::remote", lambda d: "local", local_dispatch=False)
        client.register_function("x::local", lambda d: "local")
        await runs_locally(client, engine, "x::local")
        assert await client.trigger_async({"function_id": "x::remote", "payload": {}}) is None  # engine's null
        assert routed(engine, "x::remote")
    finally:
        await asyncio.to_thread(client.shutdown)
    stats = await engine.wait_frame("localinvocationstats")
    assert [row["function_id"] for row in stats["functions"]] == ["x::local"]


async def test_a_sync_handler_calling_an_own_function_passes_its_context(
    engine: ScriptedEngine, clients: list[III]
) -> None:
    client = await connect(engine, clients)
    seen: list[Any] = []

    def inner(_data: Any) -> str:
        seen.append(current_invocation())
        return "inner"

    def outer(_data: Any) -> Any:
        mine = current_invocation()
        return {"inner": client.trigger({"function_id": "ctx::inner", "payload": {}}),
                "me": mine.invocation_id if mine else None}

    client.register_function("ctx::inner", inner)
    client.register_function("ctx::outer", outer)
    await runs_locally(client, engine, "ctx::inner")
    await runs_locally(client, engine, "ctx::outer")
    seen.clear()
    result = await client.trigger_async({"function_id": "ctx::outer", "payload": {}})
    assert result["inner"] == "inner"
    [ctx] = seen
    assert ctx.caller["function_id"] == "ctx::outer" and ctx.caller["invocation_id"] == result["me"]
    assert ctx.caller["worker_name"] == "obs-test"


async def test_default_named_clients_of_one_process_get_distinct_names(
    plain_engine: ScriptedEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declaring features holds a worker to the one-name-per-namespace rule (D1)."""
    monkeypatch.delenv("III_WORKER_NAME", raising=False)
    first = III(plain_engine.url, InitOptions())
    second = III(plain_engine.url, InitOptions())
    try:
        await eventually(lambda: len([f for f in plain_engine.frames("invokefunction")
                                      if f["function_id"] == "engine::workers::register"]) == 2)
        names = [f["data"]["name"] for f in plain_engine.frames("invokefunction")
                 if f["function_id"] == "engine::workers::register"]
        assert len(set(names)) == 2 and all(n.split("#")[0] == names[0].split("#")[0] for n in names)
    finally:
        await asyncio.to_thread(first.shutdown)
        await asyncio.to_thread(second.shutdown)
