"""``pyiii.core.session``: one connection's frames, handed to its :class:`Session` as the transport
does: access gates, quotas, the listener's registration hooks, the middleware and enqueue routes
of a call, bad frames (spec/protocol.md §1.6, §3, §6). In-process: no socket, no subprocess."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.access import Access
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.errors import FunctionError
from pyiii.core.functions import CallContext
from pyiii.core.registration_hooks import (
    FunctionRegistration,
    RegistrationHooks,
    TriggerRegistration,
    TriggerTypeRegistration,
)
from pyiii.core.session import Session
from pyiii.core.triggers import Binding
from tests.support.fake_peer import FakePeer


def refusals(peer: FakePeer) -> list[dict[str, Any]]:
    return [f for f in peer.frames if f["type"] == "triggerregistrationresult" and f.get("error")]


async def feed(session: Session, frame: dict[str, Any] | bytes) -> None:
    await session.handle_frame(frame if isinstance(frame, bytes) else json.dumps(frame).encode())


class Armed:
    """An in-process trigger provider that keeps what it was handed."""

    def __init__(self) -> None:
        self.bindings: dict[str, Binding] = {}

    async def register_trigger(self, binding: Binding) -> None:
        self.bindings[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.bindings.pop(binding.id, None)


class Hook:
    """An in-process hook function: records what it is asked, answers ``answer``."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[Any] = []

    async def __call__(self, data: Any, ctx: CallContext) -> Any:
        self.asked.append(data)
        if isinstance(self.answer, FunctionError):
            raise self.answer
        return self.answer


async def session_with_hooks(engine: Engine, hook: Hook, **access: Any) -> FakePeer:
    """A connection whose listener asks ``hook`` on every kind of registration."""
    engine.register_function("hooks::ask", hook)
    hooks = RegistrationHooks("hooks::ask", "hooks::ask", "hooks::ask")
    return await FakePeer.connect(engine, "s", access=Access(hooks=hooks, **access))


# ------------------------------------------------------------------ access gates


async def test_a_forbidden_call_is_refused_typed_and_never_reaches_the_worker() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w")
    await worker.register_function("app::f")
    caller = await FakePeer.connect(engine, "c", access=Access(forbidden_functions=frozenset({"app::f"})))
    await feed(caller.session, {"type": "invokefunction", "function_id": "app::f", "invocation_id": "i1"})
    refused = await caller.next_result("i1")
    assert refused["error"]["code"] == E.FORBIDDEN
    assert refused["error"]["message"] == "function 'app::f' not allowed (remove from rbac.forbidden_functions)"
    # An id-less call is refused too, under an id the engine makes up: a refusal is never silent.
    await feed(caller.session, {"type": "invokefunction", "function_id": "app::f"})
    [anonymous] = caller.of_type("invocationresult")
    assert anonymous["error"]["code"] == E.FORBIDDEN and anonymous["invocation_id"]
    assert worker.of_type("invokefunction") == []


async def test_the_trigger_type_gate_refuses_before_the_hook_is_asked() -> None:
    engine = Engine()
    hook = Hook({})
    session = await session_with_hooks(engine, hook, rbac=True, allow_trigger_type_registration=False)
    await feed(session.session, {"type": "registertriggertype", "id": "t"})
    [refusal] = refusals(session)
    assert refusal["trigger_type"] == "registertriggertype" and refusal["error"]["code"] == E.FORBIDDEN
    assert "t" not in engine.triggers.types and hook.asked == []


async def test_the_binding_gate_judges_the_type_sent_not_what_a_hook_would_make_of_it() -> None:
    engine = Engine()
    await engine.register_trigger_type("http", Armed())
    hook = Hook({"trigger_type": "http"})
    session = await session_with_hooks(engine, hook, rbac=True, allowed_trigger_types=frozenset({"http"}))
    await session.register_trigger("t1", "cron", "f", {})
    [refusal] = refusals(session)
    assert refusal["id"] == "t1" and refusal["trigger_type"] == "cron" and refusal["error"]["code"] == E.FORBIDDEN
    assert hook.asked == [] and engine.triggers.find("t1") is None


# ------------------------------------------------------------------ quotas


async def test_the_function_quota_counts_the_ids_the_hook_made() -> None:
    engine = Engine(EngineLimits(max_functions_per_worker=1))

    async def prefix(data: Any, ctx: CallContext) -> Any:
        return {"function_id": f"mapped::{data['function_id']}"}

    engine.register_function("hooks::fn", prefix)
    worker = await FakePeer.connect(
        engine, "w", access=Access(hooks=RegistrationHooks(on_function_registration="hooks::fn"))
    )
    await worker.register_function("f")
    await worker.register_function("f", description="the same stored id again: not a new one")
    await worker.register_function("g")
    assert worker.functions == {"mapped::f"}
    [refusal] = refusals(worker)
    assert refusal["id"] == "g" and refusal["error"]["code"] == E.LIMIT_EXCEEDED
    assert "max_functions_per_worker=1" in refusal["error"]["message"]


# ------------------------------------------------------------------ registration hooks


async def test_the_function_hook_is_asked_with_the_sessions_context_and_remaps_per_spec() -> None:
    engine = Engine()
    # A non-string id keeps the original; a present metadata key replaces it, even with null.
    hook = Hook({"function_id": 7, "description": "reviewed", "metadata": None})
    session = await session_with_hooks(engine, hook, context={"user": "u1"})
    await session.register_function("f", description="mine", metadata={"m": 1})
    assert hook.asked == [{"function_id": "f", "description": "mine", "metadata": {"m": 1}, "namespace": "default",
                           "context": {"user": "u1"}}]
    entry = engine.functions.get("f")
    assert entry is not None and entry.owner is session
    assert (entry.description, entry.metadata) == ("reviewed", None)


async def test_the_trigger_type_hook_remaps_the_type_id() -> None:
    engine = Engine()
    hook = Hook({"trigger_type_id": "ns::t"})
    session = await session_with_hooks(engine, hook, context={"user": "u1"})
    await session.register_trigger_type("t", description="ticks")
    assert hook.asked == [{"trigger_type_id": "t", "description": "ticks", "context": {"user": "u1"}}]
    assert "t" not in engine.triggers.types and engine.triggers.types["ns::t"].owner is session


async def test_the_trigger_hook_remaps_config_but_never_metadata() -> None:
    engine = Engine()
    armed = Armed()
    await engine.register_trigger_type("rec", armed)
    hook = Hook({"trigger_id": "t2", "config": None, "metadata": {"forged": True}})
    session = await session_with_hooks(engine, hook)
    await session.register_trigger("t1", "rec", "f", {"every": 1}, metadata={"m": 1})
    [asked] = hook.asked
    assert asked == {"trigger_id": "t1", "trigger_type": "rec", "function_id": "f", "config": {"every": 1},
                     "metadata": {"m": 1}, "namespace": "default", "context": {}}
    binding = armed.bindings["t2"]
    assert binding.config is None and binding.metadata == {"m": 1} and binding.owner is session


@pytest.mark.parametrize("answer", [None, [1], "yes", True, FunctionError("nope", "not this one")],
                         ids=["null", "array", "string", "true", "error"])
async def test_a_hook_that_does_not_answer_an_object_denies(answer: Any) -> None:
    engine = Engine()
    session = await session_with_hooks(engine, Hook(answer))
    await session.register_function("f")
    assert "f" not in engine.functions
    [refusal] = refusals(session)
    assert refusal["error"] == {
        "code": E.FORBIDDEN, "message": "registerfunction 'f' refused: denied by the function registration hook"}


async def test_a_denied_binding_is_refused_under_its_trigger_type_and_function() -> None:
    engine = Engine()
    armed = Armed()
    await engine.register_trigger_type("rec", armed)
    session = await session_with_hooks(engine, Hook(None))
    await session.register_trigger("t1", "rec", "f", {})
    assert not armed.bindings
    [refusal] = refusals(session)
    assert (refusal["id"], refusal["trigger_type"], refusal["function_id"]) == ("t1", "rec", "f")
    assert refusal["error"] == {
        "code": E.FORBIDDEN, "message": "rec 't1' refused: denied by the trigger registration hook"}


async def test_a_hook_that_does_not_answer_in_time_denies() -> None:
    engine = Engine()
    hooks_worker = await FakePeer.connect(engine, "hooks")
    await hooks_worker.register_function("hooks::slow")  # receives the question, never answers
    session = await FakePeer.connect(engine, "s", access=Access(
        hooks=RegistrationHooks(on_trigger_type_registration="hooks::slow", timeout_ms=20)))
    # Bounded: the refusal comes after the hook's 20 ms, not after some default.
    await asyncio.wait_for(session.register_trigger_type("t"), 2)
    await hooks_worker.next_invoke(function_id="hooks::slow")
    assert "t" not in engine.triggers.types
    [refusal] = refusals(session)
    assert refusal["error"]["message"].endswith("denied by the trigger type registration hook")


def test_the_registration_structs_keep_what_an_answer_leaves_out() -> None:
    fn = FunctionRegistration("f", None, {"m": 1})
    assert fn.remapped({}) == fn and fn.remapped({"description": None}) == fn
    tt = TriggerTypeRegistration("t", "d")
    assert tt.remapped({"trigger_type_id": None, "description": 3}) == tt
    tr = TriggerRegistration("t1", "rec", "f", {"c": 1}, {"m": 1})
    assert tr.remapped({"function_id": "g"}) == TriggerRegistration("t1", "rec", "g", {"c": 1}, {"m": 1})


# ------------------------------------------------------------------ the middleware route


async def test_the_middleware_gets_metadata_and_action_and_comes_before_enqueue() -> None:
    engine = Engine()
    seen: list[tuple[Any, Any]] = []

    async def middleware(data: Any, ctx: CallContext) -> Any:
        seen.append((data, ctx.metadata))
        return None

    enqueue = Hook({})
    engine.register_function("mw::gate", middleware)
    engine.register_function("engine::queue::enqueue", enqueue)
    session = await FakePeer.connect(engine, "s", access=Access(middleware_function_id="mw::gate"))
    await session.invoke("app::f", {"q": 1}, invocation_id="i1", metadata={"k": 1},
                         action={"type": "enqueue", "queue": "jobs"})
    answer = await session.next_result("i1")
    assert "result" not in answer and "error" not in answer  # the middleware answered nothing
    assert seen == [({"function_id": "app::f", "payload": {"q": 1}, "action": {"type": "enqueue", "queue": "jobs"},
                      "context": {}, "namespace": "default"}, {"k": 1})]
    assert enqueue.asked == []


async def test_engine_functions_bypass_the_middleware() -> None:
    engine = Engine()
    middleware = Hook({"via": "middleware"})
    engine.register_function("mw::gate", middleware)
    engine.register_function("engine::echo", echo)
    session = await FakePeer.connect(engine, "s", access=Access(middleware_function_id="mw::gate"))
    await session.invoke("engine::echo", {"x": 1}, invocation_id="i1")
    # The direct route: the function ran, with the caller's worker id the engine adds.
    assert (await session.next_result("i1"))["result"] == {"x": 1, "_caller_worker_id": "s"}
    assert middleware.asked == []


async def echo(data: Any, ctx: CallContext) -> Any:
    return data


# ------------------------------------------------------------------ the enqueue route


ENQUEUE = {"type": "enqueue", "queue": "jobs"}


async def test_an_enqueue_without_an_invocation_id_is_handed_over_and_not_answered() -> None:
    engine = Engine()
    enqueue = Hook({})
    engine.register_function("engine::queue::enqueue", enqueue)
    caller = await FakePeer.connect(engine, "c")
    caller.unread()
    await caller.invoke("work::f", {"n": 1}, action=ENQUEUE, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
                        baggage="user=u1")
    await engine.invoker.drain(1)
    [payload] = enqueue.asked
    assert payload["data"] == {"n": 1} and payload["queue"] == "jobs"
    # A traced call carries the function it is for in its baggage, as a direct call's does.
    assert payload["baggage"] == "user=u1,iii.function.id=work::f"
    assert caller.unread() == []


async def test_an_enqueue_names_its_namespace_to_the_queue_only_when_not_default() -> None:
    """Spec iii-0.23-0.25 §1.10 and §6.3 item 21: older queue providers refuse unknown fields."""
    engine = Engine()
    enqueue = Hook({})
    engine.register_function("engine::queue::enqueue", enqueue)
    caller = await FakePeer.connect(engine, "c")
    await caller.invoke("svc::job", {"n": 1}, invocation_id="in-a", action=ENQUEUE, namespace="a")
    await caller.invoke("svc::job", {"n": 2}, invocation_id="plain", action=ENQUEUE)
    await caller.invoke("svc::job", {"n": 3}, invocation_id="named-default", action=ENQUEUE, namespace="default")
    for invocation in ("in-a", "plain", "named-default"):
        assert "messageReceiptId" in (await caller.next_result(invocation))["result"]
    by_n = {p["data"]["n"]: p for p in enqueue.asked}
    assert by_n[1]["namespace"] == "a"
    assert "namespace" not in by_n[2] and "namespace" not in by_n[3]


async def test_an_enqueue_the_queue_refuses_is_an_enqueue_error() -> None:
    engine = Engine()
    engine.register_function("engine::queue::enqueue", Hook(FunctionError("queue_full", "jobs is full")))
    caller = await FakePeer.connect(engine, "c")
    await caller.invoke("work::f", {}, invocation_id="i1", action=ENQUEUE)
    refused = await caller.next_result("i1")
    assert refused["error"] == {"code": E.ENQUEUE_ERROR, "message": "queue_full: jobs is full"}


async def test_an_enqueue_of_undecodable_data_is_refused_typed_and_not_queued() -> None:
    engine = Engine()
    enqueue = Hook({})
    engine.register_function("engine::queue::enqueue", enqueue)
    caller = await FakePeer.connect(engine, "c")
    await caller.send(b'{"type":"invokefunction","function_id":"work::f","invocation_id":"i1",'
                      b'"data":{"n":1E400},"action":{"type":"enqueue","queue":"jobs"}}')
    refused = await caller.next_result("i1")
    assert refused["error"]["code"] == E.DESERIALIZATION_ERROR and enqueue.asked == []


# ------------------------------------------------------------------ bad frames and the rest


async def test_a_registration_nested_too_deeply_is_refused_from_its_envelope() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w")
    deep = b"[" * 3000 + b"]" * 3000
    await worker.send(b'{"type":"registertrigger","id":"t1","trigger_type":"cron","function_id":"f","config":'
                      + deep + b"}")
    [refusal] = refusals(worker)
    assert (refusal["id"], refusal["trigger_type"], refusal["function_id"]) == ("t1", "cron", "f")
    assert refusal["error"]["code"] == E.PAYLOAD_TOO_DEEP and engine.triggers.find("t1") is None


async def test_a_frame_with_wrong_fields_is_dropped_without_an_answer() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w")
    worker.unread()
    await worker.send({"type": "registerfunction", "id": 5})
    await worker.send(b"{not json")
    assert worker.unread() == [] and len(engine.functions) == 0


async def test_telemetry_frames_go_to_the_sink_only() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w")
    worker.unread()
    await worker.send(b'OTLP{"resourceSpans":[]}')  # no sink yet: dropped
    received: list[tuple[bytes, bytes]] = []
    engine.telemetry_sink = lambda prefix, payload: received.append((prefix, payload))
    await worker.send(b'LOGS{"resourceLogs":[]}')
    assert received == [(b"LOGS", b'{"resourceLogs":[]}')] and worker.unread() == []


async def test_answers_to_a_connection_that_died_are_dropped_quietly() -> None:
    engine = Engine()
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, allow_function_registration=False))
    session.broken = True
    await session.send({"type": "ping"})
    await session.invoke("app::f", {}, invocation_id="i1")
    await session.register_function("f")
    assert "f" not in engine.functions


async def test_a_session_acts_under_the_grant_its_peer_connected_with() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "w")
    await worker.register_function("app::f")
    granted = await FakePeer.connect(engine, "a")
    denied = await FakePeer.connect(engine, "d", access=Access(rbac=True))
    assert granted.session.access is granted.access and denied.session.access is denied.access
    await granted.invoke("app::f", {}, invocation_id="i1")
    await denied.invoke("app::f", {}, invocation_id="i1")
    assert (await denied.next_result("i1"))["error"]["code"] == E.FORBIDDEN
    call = await worker.next_invoke()
    await worker.answer(call, result="ok")
    assert (await granted.next_result("i1"))["result"] == "ok"
