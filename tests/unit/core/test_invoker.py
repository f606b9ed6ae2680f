"""``pyiii.core.invoker`` through the engine with fake peers: routing a call to its owner and the
result back, void calls, typed errors, timeouts, disconnect cleanup, who may answer, quotas
(spec/protocol.md §3.6-§3.10)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.access import Access, ExposeRule
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.errors import FunctionError
from pyiii.core.functions import CallContext
from tests.support.fake_peer import FakePeer
from tests.support.waiting import eventually, stays


async def owner_and_caller(engine: Engine, fid: str = "w::f") -> tuple[FakePeer, FakePeer]:
    worker = await FakePeer.connect(engine, "worker")
    await worker.register_function(fid)
    caller = await FakePeer.connect(engine, "caller")
    return worker, caller


# ------------------------------------------------------------------ peer to peer


async def test_a_call_goes_to_the_owner_and_the_result_back_to_the_caller() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {"x": 1}, invocation_id="i1", traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01",
                        metadata={"m": True})
    call = await worker.next_invoke()
    assert call["function_id"] == "w::f" and call["invocation_id"] == "i1"
    assert call["data"] == {"x": 1, "_caller_worker_id": "caller"}  # who called, unspoofable (§3.6)
    assert call["metadata"] == {"m": True} and call["traceparent"].startswith("00-111")
    assert call["baggage"] == "iii.function.id=w::f"  # the target named in the baggage
    assert "i1" in worker.inflight and "i1" in caller.inflight
    await worker.answer(call, result={"sum": 3})
    answer = await caller.next_result("i1")
    assert answer["result"] == {"sum": 3} and answer["function_id"] == "w::f"
    assert not engine.invoker.pending and not worker.inflight and not caller.inflight
    assert not worker.pending_by_caller


async def test_the_caller_cannot_spoof_its_worker_id() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {"_caller_worker_id": "admin"}, invocation_id="i1")
    assert (await worker.next_invoke())["data"]["_caller_worker_id"] == "caller"
    await caller.invoke("w::f", [1, 2], invocation_id="i2")  # non-object payloads pass unchanged
    assert (await worker.next_invoke(invocation_id="i2"))["data"] == [1, 2]


async def test_an_error_result_reaches_the_caller_unchanged() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {}, invocation_id="i1")
    call = await worker.next_invoke()
    await worker.answer(call, error={"code": "boom", "message": "it broke", "stacktrace": "at f"})
    answer = await caller.next_result("i1")
    assert answer["error"] == {"code": "boom", "message": "it broke", "stacktrace": "at f"}


async def test_an_unknown_function_is_a_typed_error() -> None:
    engine = Engine()
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("nope::missing", {}, invocation_id="i1")
    answer = await caller.next_result("i1")
    assert answer["error"]["code"] == E.FUNCTION_NOT_FOUND and "nope::missing" in answer["error"]["message"]
    with pytest.raises(FunctionError) as raised:
        await engine.call("nope::missing", {})
    assert raised.value.code == E.FUNCTION_NOT_FOUND


async def test_void_calls_get_no_answer_and_leave_nothing_pending() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    caller.unread()
    await caller.invoke("w::f", {"n": 1}, invocation_id="v1", action={"type": "void"})
    await caller.invoke("w::f", {"n": 2})  # no id and no action: void too (§3.7)
    calls = [await worker.next_invoke(), await worker.next_invoke()]
    assert all("invocation_id" not in c for c in calls) and [c["data"]["n"] for c in calls] == [1, 2]
    assert not engine.invoker.pending
    await caller.invoke("nope", {}, action={"type": "void"})  # unknown and void: nobody to tell
    assert caller.unread() == []


async def test_duplicate_invocation_ids_from_two_callers_each_get_their_own_answer() -> None:
    engine = Engine()
    worker, a = await owner_and_caller(engine)
    b = await FakePeer.connect(engine, "caller-b")
    await a.invoke("w::f", {"who": "a"}, invocation_id="same")
    await b.invoke("w::f", {"who": "b"}, invocation_id="same")
    first, second = await worker.next_invoke(), await worker.next_invoke()
    assert first["invocation_id"] == "same" and second["invocation_id"] != "same"  # renamed on the way
    assert len(engine.invoker.pending) == 2
    await worker.answer(second, result="for b")
    await worker.answer(first, result="for a")
    assert (await a.next_result("same"))["result"] == "for a"
    assert (await b.next_result("same"))["result"] == "for b"
    assert not engine.invoker.pending


async def test_only_the_asked_worker_may_answer() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    intruder = await FakePeer.connect(engine, "intruder")
    await caller.invoke("w::f", {}, invocation_id="i1")
    call = await worker.next_invoke()
    caller.unread()
    await intruder.answer(call, result="forged")
    await intruder.answer(call, result="forged", invocation_id="unknown")
    await caller.send({"type": "invocationresult", "invocation_id": "i1", "result": "self-answered"})
    assert caller.unread() == [] and "i1" in engine.invoker.pending
    await worker.answer(call, result="real")
    assert (await caller.next_result("i1"))["result"] == "real"
    await worker.answer(call, result="again")  # a second answer for a settled call is dropped
    assert caller.of_type("invocationresult") == []  # the one answer was taken above


async def test_an_undecodable_result_from_the_owner_fails_the_call_typed() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {}, invocation_id="i1")
    await worker.next_invoke()
    await worker.send(b'{"type":"invocationresult","invocation_id":"i1","function_id":"w::f","traceparent":5}')
    answer = await caller.next_result("i1")
    assert answer["error"]["code"] == E.INVALID_FRAME and "refused" in answer["error"]["message"]


# ------------------------------------------------------------------ disconnects


async def test_a_gone_workers_pending_calls_fail_with_invocation_stopped() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {}, invocation_id="i1")
    await worker.next_invoke()
    in_process = asyncio.create_task(engine.call("w::f", {}))
    await worker.next_invoke()
    await worker.disconnect()
    answer = await caller.next_result("i1")
    assert answer["error"]["code"] == E.INVOCATION_STOPPED
    with pytest.raises(FunctionError) as raised:
        await in_process
    assert raised.value.code == E.INVOCATION_STOPPED
    assert not engine.invoker.pending and "w::f" not in engine.functions and not caller.inflight


async def test_a_gone_callers_late_result_is_discarded() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {}, invocation_id="i1")
    call = await worker.next_invoke()
    await caller.disconnect()
    assert not engine.invoker.pending and not worker.inflight and not worker.pending_by_caller
    await worker.answer(call, result="late")  # nobody to send it to; no error
    assert caller.of_type("invocationresult") == []


async def test_a_call_to_a_worker_whose_socket_died_fails_at_once() -> None:
    engine = Engine()
    worker, caller = await owner_and_caller(engine)
    worker.broken = True
    await caller.invoke("w::f", {}, invocation_id="i1")
    assert (await caller.next_result("i1"))["error"]["code"] == E.CHANNEL_SEND_FAILED
    with pytest.raises(FunctionError) as raised:
        await engine.call("w::f", {})
    assert raised.value.code == E.CHANNEL_SEND_FAILED
    assert not engine.invoker.pending


# ------------------------------------------------------------------ in-process callers and targets


async def test_in_process_call_to_a_remote_worker() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "worker")
    await worker.register_function("w::f")
    task = asyncio.create_task(engine.call("w::f", {"q": 1}, metadata={"m": 1}))
    call = await worker.next_invoke()
    assert call["data"] == {"q": 1} and call["metadata"] == {"m": 1}  # no _caller_worker_id in-process
    assert worker.pending_by_caller == {"in-process": 1}
    await worker.answer(call, result={"a": [1]})
    assert await task == {"a": [1]}
    task = asyncio.create_task(engine.call("w::f", {}))
    await worker.answer(await worker.next_invoke(), error={"code": "bad", "message": "no"})
    with pytest.raises(FunctionError) as raised:
        await task
    assert (raised.value.code, raised.value.message) == ("bad", "no")


async def test_in_process_calls_time_out_typed_and_forget_the_call() -> None:
    engine = Engine(EngineLimits(invocation_timeout_ms=50))
    worker = await FakePeer.connect(engine, "worker")
    await worker.register_function("w::slow")
    with pytest.raises(FunctionError) as raised:
        await engine.call("w::slow", {})  # the engine default
    assert raised.value.code == E.INVOCATION_TIMEOUT and "0.05s" in raised.value.message
    with pytest.raises(FunctionError) as raised:
        await engine.call("w::slow", {}, timeout=0.01)
    assert raised.value.code == E.INVOCATION_TIMEOUT
    assert not engine.invoker.pending and not worker.inflight
    late = worker.of_type("invokefunction")[0]
    await worker.answer(late, result="too late")  # dropped quietly


class StalledPeer(FakePeer):
    """A worker that stopped reading: sending it an invocation never completes (a full socket
    buffer under websockets' flow control, until keepalive closes the connection)."""

    async def send_frame(self, frame: bytes) -> None:
        if b'"invokefunction"' in frame:
            await asyncio.Event().wait()
        await super().send_frame(frame)


async def test_an_in_process_call_times_out_even_if_the_worker_does_not_read() -> None:
    engine = Engine()
    worker = StalledPeer(engine, "stalled")
    await engine.connect_peer(worker)
    await worker.register_function("w::f")
    with pytest.raises(FunctionError) as raised:
        await asyncio.wait_for(engine.call("w::f", {}, timeout=0.05), 0.5)
    assert raised.value.code == E.INVOCATION_TIMEOUT


async def test_a_peer_calls_a_built_in_and_gets_its_result_or_typed_error() -> None:
    engine = Engine()
    seen: list[tuple[Any, CallContext]] = []

    async def handler(data: Any, ctx: CallContext) -> Any:
        seen.append((data, ctx))
        if data.get("fail"):
            raise FunctionError("custom", "refused")
        if data.get("crash"):
            raise RuntimeError("bug")
        return {"echo": data["v"]}

    engine.register_function("builtin::echo", handler)
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("builtin::echo", {"v": 1}, invocation_id="ok", metadata={"m": 2})
    assert (await caller.next_result("ok"))["result"] == {"echo": 1}
    data, ctx = seen[0]
    assert data == {"v": 1, "_caller_worker_id": "caller"} and ctx.caller is caller and ctx.metadata == {"m": 2}
    assert ctx.invocation_id == "ok"
    await caller.invoke("builtin::echo", {"fail": True}, invocation_id="e1")
    assert (await caller.next_result("e1"))["error"]["code"] == "custom"
    await caller.invoke("builtin::echo", {"crash": True}, invocation_id="e2")
    crashed = (await caller.next_result("e2"))["error"]
    assert crashed["code"] == E.INVOCATION_FAILED and crashed["message"] == "bug" and "RuntimeError" in crashed[
        "stacktrace"]
    entry = engine.functions.get("builtin::echo")
    assert entry is not None and (entry.invocations, entry.errors) == (3, 2)


async def test_a_built_in_result_is_encoded_for_the_calling_worker() -> None:
    engine = Engine()

    async def handler(data: Any, ctx: CallContext) -> Any:
        return {1, 2}

    engine.register_function("builtin::set", handler)
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("builtin::set", {}, invocation_id="ok")
    assert sorted((await caller.next_result("ok"))["result"]) == [1, 2]  # msgspec encodes a set as a list


async def test_a_built_in_result_of_an_unencodable_type_is_answered_with_serialization_error() -> None:
    engine = Engine()

    async def handler(data: Any, ctx: CallContext) -> Any:
        return object()

    engine.register_function("builtin::obj", handler)
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("builtin::obj", {}, invocation_id="e1")
    answer = await caller.next_result("e1", timeout=0.5)
    assert answer["error"]["code"] == E.SERIALIZATION_ERROR


async def test_in_process_input_types_are_enforced() -> None:
    engine = Engine()

    async def handler(data: Any, ctx: CallContext) -> Any:
        return data

    engine.register_function("typed", handler, input_type=dict[str, int])
    assert await engine.call("typed", {"a": 1}) == {"a": 1}
    with pytest.raises(FunctionError) as raised:
        await engine.call("typed", {"a": "x"})
    assert raised.value.code == E.DESERIALIZATION_ERROR


async def test_in_process_void_calls_log_their_failure() -> None:
    engine = Engine()
    ran: list[Any] = []

    async def handler(data: Any, ctx: CallContext) -> Any:
        ran.append(data)
        raise FunctionError("x", "failed")

    engine.register_function("v", handler)
    engine.call_void("v", 1)
    engine.call_void("missing", 2)
    await engine.invoker.drain(1)
    assert ran == [1]


async def test_void_calls_to_a_worker_hold_no_task_and_log_their_failure(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine()
    worker, _ = await owner_and_caller(engine)
    engine.call_void("w::f", {"n": 1}, metadata={"m": 1})
    assert not engine.invoker._tasks  # sent at once; the answer is handled by a callback
    call = await worker.next_invoke()
    assert call["data"] == {"n": 1} and call["metadata"] == {"m": 1} and call["invocation_id"]
    await worker.answer(call, error={"code": "oops", "message": "m"})
    await eventually(lambda: "void call to w::f failed: oops: m" in caplog.text)
    assert not engine.invoker.pending and not worker.inflight
    engine.call_void("w::f", {"n": 2}, timeout=0.05)
    await eventually(lambda: "void call to w::f failed: invocation_timeout" in caplog.text)
    assert not engine.invoker.pending and not worker.inflight
    worker.broken = True
    engine.call_void("w::f", {"n": 3})
    await eventually(lambda: "void call to w::f failed: channel_send_failed" in caplog.text)
    assert not engine.invoker.pending and not worker.inflight


async def test_a_void_call_answered_in_time_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine()
    worker, _ = await owner_and_caller(engine)
    engine.call_void("w::f", 5)
    call = await worker.next_invoke()
    await worker.answer(call, result={"ok": True})
    await eventually(lambda: not engine.invoker.pending)
    await stays(lambda: "void call" not in caplog.text, for_s=0.05)


async def test_observers_see_every_finished_call() -> None:
    engine = Engine()
    observed: list[tuple[str, str | None]] = []
    engine.invoker.observers.append(lambda fid, _s, code: observed.append((fid, code)))
    worker, caller = await owner_and_caller(engine)
    await caller.invoke("w::f", {}, invocation_id="i1")
    await worker.answer(await worker.next_invoke(), error={"code": "oops", "message": "m"})
    await caller.next_result("i1")
    assert observed == [("w::f", "oops")]


# ------------------------------------------------------------------ quotas


async def test_per_worker_quota_refuses_with_limit_exceeded() -> None:
    engine = Engine(EngineLimits(max_pending_per_worker=2, max_pending_caller_share=1))
    worker, caller = await owner_and_caller(engine)
    for i in range(3):
        await caller.invoke("w::f", {}, invocation_id=f"i{i}")
    refused = await caller.next_result("i2")
    assert refused["error"]["code"] == E.LIMIT_EXCEEDED and "limit 2" in refused["error"]["message"]
    assert len(worker.of_type("invokefunction")) == 2
    await worker.answer(await worker.next_invoke(invocation_id="i0"), result=0)
    await caller.invoke("w::f", {}, invocation_id="i3")  # room again
    await worker.next_invoke(invocation_id="i3")


async def test_per_caller_share_leaves_room_for_other_callers() -> None:
    engine = Engine(EngineLimits(max_pending_per_worker=4, max_pending_caller_share=0.5))
    worker, greedy = await owner_and_caller(engine)
    polite = await FakePeer.connect(engine, "polite")
    for i in range(3):
        await greedy.invoke("w::f", {}, invocation_id=f"g{i}")
    refused = await greedy.next_result("g2")
    assert refused["error"]["code"] == E.LIMIT_EXCEEDED and "2 pending invocations" in refused["error"]["message"]
    await polite.invoke("w::f", {}, invocation_id="p0")
    await worker.next_invoke(invocation_id="p0")
    assert worker.pending_by_caller == {greedy: 2, polite: 1}
    # in-process callers share one key and are held to the same share
    calls = [asyncio.create_task(engine.call("w::f", {}, timeout=5)) for _ in range(2)]
    await eventually(lambda: worker.pending_by_caller.get("in-process") == 1, what="one in-process call pending")
    with pytest.raises(FunctionError) as raised:
        await calls[1]  # the worker's overall limit (4) is reached by now
    assert raised.value.code == E.LIMIT_EXCEEDED
    calls[0].cancel()


async def test_a_caller_over_its_own_overall_limit_is_refused() -> None:
    engine = Engine(EngineLimits(max_pending_per_worker=2, max_pending_caller_share=1))
    w1 = await FakePeer.connect(engine, "w1")
    await w1.register_function("a")
    w2 = await FakePeer.connect(engine, "w2")
    await w2.register_function("b")
    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("a", {}, invocation_id="1")
    await caller.invoke("b", {}, invocation_id="2")
    await caller.invoke("b", {}, invocation_id="3")  # w2 has room, the caller has none
    assert (await caller.next_result("3"))["error"]["code"] == E.LIMIT_EXCEEDED
    await stays(lambda: len(w2.of_type("invokefunction")) == 1, 0.02, interval=0.005, what="no extra call")


# ------------------------------------------------------------------ access, middleware, enqueue


async def test_a_session_may_call_only_what_it_is_granted() -> None:
    engine = Engine()
    worker = await FakePeer.connect(engine, "worker")
    await worker.register_function("public::f")
    await worker.register_function("private::f")
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, expose=[ExposeRule(id_glob="public::*")]))
    await session.invoke("private::f", {}, invocation_id="no")
    refused = await session.next_result("no")
    assert refused["error"]["code"] == E.FORBIDDEN and "rbac.expose_functions" in refused["error"]["message"]
    await session.invoke("public::f", {}, invocation_id="yes")
    await worker.next_invoke(invocation_id="yes")
    assert worker.of_type("invokefunction") == []  # the private one never reached the worker


async def test_a_listeners_middleware_gets_the_call_instead_of_the_target() -> None:
    engine = Engine()
    seen: list[Any] = []

    async def middleware(data: Any, ctx: CallContext) -> Any:
        seen.append(data)
        if data["payload"].get("deny"):
            raise FunctionError("DENIED", "not today")
        return {"via": "middleware"}

    engine.register_function("mw::gate", middleware)
    engine.register_function("app::f", noop)
    session = await FakePeer.connect(engine, "s", access=Access(middleware_function_id="mw::gate",
                                                                context={"user": "u1"}))
    await session.invoke("app::f", {"q": 1}, invocation_id="i1")
    assert (await session.next_result("i1"))["result"] == {"via": "middleware"}
    assert seen == [{"function_id": "app::f", "payload": {"q": 1}, "action": None, "context": {"user": "u1"},
                    "namespace": "default"}]
    await session.invoke("app::f", {"deny": True}, invocation_id="i2")
    assert (await session.next_result("i2"))["error"] == {"code": "DENIED", "message": "not today"}


async def test_enqueue_action_goes_through_the_queue_provider() -> None:
    engine = Engine()
    enqueued: list[Any] = []

    async def enqueue(data: Any, ctx: CallContext) -> Any:
        enqueued.append((data, ctx.caller))
        return None

    caller = await FakePeer.connect(engine, "caller")
    await caller.invoke("work::f", {"n": 1}, invocation_id="i1", action={"type": "enqueue", "queue": "jobs"})
    refused = await caller.next_result("i1")
    assert refused["error"]["code"] == E.ENQUEUE_ERROR and "add the iii-queue worker" in refused["error"]["message"]
    engine.register_function("engine::queue::enqueue", enqueue)
    await caller.invoke("work::f", {"n": 2}, invocation_id="i2", action={"type": "enqueue", "queue": "jobs"})
    receipt = (await caller.next_result("i2"))["result"]["messageReceiptId"]
    [(payload, by)] = enqueued
    assert payload["queue"] == "jobs" and payload["function_id"] == "work::f" and payload["data"] == {"n": 2}
    assert payload["messageReceiptId"] == receipt and by is caller


async def noop(data: Any, ctx: CallContext) -> Any:
    return data
