"""``pyiii.core.engine`` with fake peers: connections, function registration and ownership, the
per-frame rules, fed through each fake peer's Session as the transport does (spec/protocol.md
§1-§3.5, §3.11; the session's own paths: test_session.py). In-process: no socket, no subprocess."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.access import Access, ExposeRule
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.functions import CallContext
from pyiii.core.registration_hooks import RegistrationHooks
from tests.support.fake_peer import FakePeer

SESSION = Access(rbac=True, expose=[ExposeRule(id_glob="*")])


def refusals(peer: FakePeer) -> list[dict[str, Any]]:
    return [f for f in peer.frames if f["type"] == "triggerregistrationresult" and f.get("error")]


# ------------------------------------------------------------------ connections


async def test_connect_greets_with_id_and_token_and_announces() -> None:
    engine = Engine()
    events: list[tuple[str, str]] = []
    engine.on_worker_event(lambda event, wid: events.append((event, wid)))
    worker = await FakePeer.connect(engine, "w1")
    assert worker.frames == [{"type": "workerregistered", "worker_id": "w1", "reattach_token": "token-w1",
                              "features": ["observe.v1", "local-dispatch.v1"]}]
    assert engine.peers == {"w1": worker}
    await worker.disconnect()
    assert events == [("worker_connected", "w1"), ("worker_disconnected", "w1")]
    assert "w1" not in engine.peers and not worker.connected


async def test_disconnect_cleanup_runs_once_for_concurrent_callers() -> None:
    engine = Engine()
    events: list[str] = []
    engine.on_worker_event(lambda event, _wid: events.append(event))
    worker = await FakePeer.connect(engine, "w1")
    await worker.register_function("w::f")
    await worker.disconnect()
    await engine.disconnect_peer(worker)
    assert events.count("worker_disconnected") == 1 and "w::f" not in engine.functions


async def test_ping_is_answered_with_pong_and_blank_frames_are_ignored() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    worker.unread()
    await worker.send(b"   \n")
    await worker.send(b"")
    await worker.send({"type": "ping"})
    assert worker.unread() == [{"type": "pong"}]


async def test_a_failing_worker_event_listener_does_not_break_connect() -> None:
    engine = Engine()

    def boom(_event: str, _wid: str) -> None:
        raise RuntimeError("listener bug")

    engine.on_worker_event(boom)
    worker = await FakePeer.connect(engine, "w1")
    assert engine.peers["w1"] is worker


# ------------------------------------------------------------------ bad frames


async def test_malformed_invoke_with_an_id_gets_a_typed_error() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    await worker.send({"type": "invokefunction", "function_id": 5, "invocation_id": "i1"})
    answer = await worker.next_result("i1")
    assert answer["error"]["code"] == E.INVALID_FRAME
    await worker.send(b"{not json")  # nothing to answer: dropped, the connection goes on
    await worker.send({"type": "ping"})
    await worker.next("pong")


async def test_unknown_frame_types_are_ignored() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    worker.unread()
    await worker.send({"type": "registerservice", "id": "svc"})
    await worker.send({"type": "pong"})
    assert worker.unread() == []


# ------------------------------------------------------------------ registration and ownership


async def test_register_and_unregister_a_function() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    await worker.register_function("math::add", description="adds", metadata={"k": 1},
                                   request_format={"type": "object"})
    entry = engine.functions.get("math::add")
    assert entry is not None and entry.owner is worker and entry.description == "adds"
    assert entry.metadata == {"k": 1} and entry.request_format == {"type": "object"}
    assert worker.functions == {"math::add"}
    await worker.unregister_function("math::add")
    assert "math::add" not in engine.functions and not worker.functions


async def test_an_in_process_function_leaves_its_workers_listing() -> None:
    engine = Engine()
    engine.add_in_process_worker("iii-x", "iii-x")

    async def handler(data: Any, ctx: CallContext) -> Any:
        return data

    engine.register_function("x::a", handler, worker="iii-x")
    engine.register_function("x::b", handler, worker="iii-x")
    assert engine.unregister_function("x::a", worker="iii-x")
    assert engine.in_process_workers["iii-x"].functions == {"x::b"}
    assert engine.unregister_function("x::b")  # without the worker: the listing keeps it
    assert engine.in_process_workers["iii-x"].functions == {"x::b"}
    assert not engine.unregister_function("x::b", worker="iii-x")
    assert engine.in_process_workers["iii-x"].functions == set()


async def test_only_the_owner_can_unregister() -> None:
    engine = Engine()
    owner, other = await FakePeer.connect(engine, "w1"), await FakePeer.connect(engine, "w2")
    await owner.register_function("f")
    await other.unregister_function("f")
    entry = engine.functions.get("f")
    assert entry is not None and entry.owner is owner


async def test_last_writer_wins_among_trusted_workers() -> None:
    engine = Engine()
    first, second = await FakePeer.connect(engine, "w1"), await FakePeer.connect(engine, "w2")
    await first.register_function("f")
    await second.register_function("f")
    entry = engine.functions.get("f")
    assert entry is not None and entry.owner is second
    assert "f" not in first.functions and second.functions == {"f"}
    await first.disconnect()  # the previous owner's cleanup leaves the new registration alone
    assert engine.functions.get("f") is entry
    await first.unregister_function("f")
    assert engine.functions.get("f") is entry


async def test_a_trusted_worker_may_take_over_a_built_in() -> None:
    engine = Engine()

    async def builtin(data: Any, ctx: CallContext) -> Any:
        return "builtin"

    engine.register_function("svc::f", builtin)
    worker = await FakePeer.connect(engine, "w1")
    await worker.register_function("svc::f")
    entry = engine.functions.get("svc::f")
    assert entry is not None and entry.owner is worker and entry.handler is None


async def test_re_register_after_disconnect() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    await worker.register_function("f")
    await worker.disconnect()
    assert "f" not in engine.functions
    again = await FakePeer.connect(engine, "w1b")
    await again.register_function("f")
    entry = engine.functions.get("f")
    assert entry is not None and entry.owner is again


async def test_a_session_cannot_take_over_a_live_workers_or_a_built_in_function() -> None:
    engine = Engine()

    async def auth(data: Any, ctx: CallContext) -> Any:
        return True

    engine.register_function("auth::check", auth)
    owner = await FakePeer.connect(engine, "w1")
    await owner.register_function("f")
    session = await FakePeer.connect(engine, "s1", access=SESSION)
    await session.register_function("f")
    await session.register_function("auth::check")
    assert engine.functions.get("f").owner is owner  # type: ignore[union-attr]
    assert engine.functions.get("auth::check").handler is auth  # type: ignore[union-attr]
    codes = {(r["id"], r["error"]["code"]) for r in refusals(session)}
    assert codes == {("f", E.FORBIDDEN), ("auth::check", E.FORBIDDEN)}
    # ...but it may take the place of a worker that is gone (its cleanup not run yet)
    owner.connected = False
    await session.register_function("f")
    assert engine.functions.get("f").owner is session  # type: ignore[union-attr]


async def test_a_session_without_function_registration_is_refused() -> None:
    engine = Engine()
    session = await FakePeer.connect(engine, "s1", access=Access(rbac=True, allow_function_registration=False))
    await session.register_function("mine")
    assert "mine" not in engine.functions
    [refusal] = refusals(session)
    assert refusal["id"] == "mine" and refusal["error"]["code"] == E.FORBIDDEN
    assert refusal["trigger_type"] == "registerfunction"


async def test_registration_prefix_and_invocations_under_the_local_id() -> None:
    engine = Engine()
    session = await FakePeer.connect(engine, "s1", access=Access(rbac=True, function_registration_prefix="tenant"))
    await session.register_function("echo")
    entry = engine.functions.get("tenant::echo")
    assert entry is not None and entry.local_id == "echo" and "echo" not in engine.functions
    caller = await FakePeer.connect(engine, "c1")
    await caller.invoke("tenant::echo", {}, invocation_id="i1")
    call = await session.next_invoke()
    assert call["function_id"] == "echo"  # the SDK finds its handler under the id it registered
    await session.answer(call, result="ok")
    answer = await caller.next_result("i1")
    assert answer["result"] == "ok" and answer["function_id"] == "tenant::echo"
    await session.unregister_function("echo")
    assert "tenant::echo" not in engine.functions


async def test_a_registration_hook_remaps_or_denies() -> None:
    engine = Engine()

    async def hook(reg: dict[str, Any], _ctx: CallContext) -> Any:
        return None if reg["function_id"] == "deny" else {"function_id": f"mapped::{reg['function_id']}"}

    engine.register_function("hooks::function", hook)
    worker = await FakePeer.connect(
        engine, "w1", access=Access(hooks=RegistrationHooks(on_function_registration="hooks::function"))
    )
    await worker.register_function("f")
    await worker.register_function("deny")
    assert "mapped::f" in engine.functions and "deny" not in engine.functions
    assert [r["id"] for r in refusals(worker)] == ["deny"]
    await worker.unregister_function("f")  # found under what the hook made of it
    assert "mapped::f" not in engine.functions


async def test_undecodable_registration_metadata_is_refused_typed() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w1")
    await worker.send(b'{"type":"registerfunction","id":"f","metadata":{"n":1E400}}')
    assert "f" not in engine.functions
    [refusal] = refusals(worker)
    assert refusal["id"] == "f" and refusal["error"]["code"] == E.DESERIALIZATION_ERROR


async def test_max_functions_per_worker() -> None:
    engine = Engine(EngineLimits(max_functions_per_worker=2))
    worker = await FakePeer.connect(engine, "w1")
    for fid in ("a", "b", "c"):
        await worker.register_function(fid)
    await worker.register_function("a", description="re-registering an own id is not a new one")
    assert worker.functions == {"a", "b"}
    [refusal] = refusals(worker)
    assert refusal["id"] == "c" and refusal["error"]["code"] == E.LIMIT_EXCEEDED
    assert "max_functions_per_worker=2" in refusal["error"]["message"]
    other = await FakePeer.connect(engine, "w2")  # the limit is per worker
    await other.register_function("c")
    assert "c" in engine.functions


async def test_max_trigger_types_per_worker() -> None:
    engine = Engine(EngineLimits(max_trigger_types_per_worker=1))
    worker = await FakePeer.connect(engine, "w1")
    await worker.register_trigger_type("t1")
    await worker.register_trigger_type("t1")  # the same one again is fine
    await worker.register_trigger_type("t2")
    assert worker.trigger_types == {"t1"} and "t2" not in engine.triggers.types
    [refusal] = refusals(worker)
    assert refusal["id"] == "t2" and refusal["error"]["code"] == E.LIMIT_EXCEEDED


def test_caller_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="max_pending_caller_share"):
        EngineLimits(max_pending_caller_share=0)
    assert EngineLimits(max_pending_per_worker=10, max_pending_caller_share=0.01).max_pending_per_caller == 1


# ------------------------------------------------------------------ reattach


async def test_reattach_with_the_token_replaces_the_old_connection() -> None:
    engine = Engine()
    old = await FakePeer.connect(engine, "w1")
    await old.register_function("f")
    new = await FakePeer.connect(engine, "w2")
    await new.send({"type": "reattach", "previous_worker_id": "w1", "reattach_token": "wrong"})
    assert "w1" in engine.peers and "f" in engine.functions
    await new.send({"type": "reattach", "previous_worker_id": "w1", "reattach_token": "token-w1"})
    assert "w1" not in engine.peers and "f" not in engine.functions
    await new.register_function("f")  # the replayed registrations survive the old cleanup
    assert engine.functions.get("f").owner is new  # type: ignore[union-attr]
    await engine.invoker.drain(1)
    assert old.closed == (1000, "replaced by a reattached connection")


# ------------------------------------------------------------------ shutdown


async def test_shutdown_answers_waiting_callers_and_closes_workers_with_1012() -> None:
    engine = Engine()
    worker, caller = await FakePeer.connect(engine, "w1"), await FakePeer.connect(engine, "c1")
    await worker.register_function("slow")
    await caller.invoke("slow", {}, invocation_id="i1")
    await worker.next_invoke()
    await engine.shutdown(grace=0.05)
    answer = json.loads(caller.raw[-1])  # sent before its connection was closed
    assert answer["invocation_id"] == "i1" and answer["error"]["code"] == "engine_shutdown"
    assert worker.closed == (1012, "engine shutting down") and not engine.peers
