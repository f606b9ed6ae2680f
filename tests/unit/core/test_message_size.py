"""How large a message a connection accepts (spec iii-0.23-0.25 §2.4)."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.core.engine import Engine
from pyiii.core.errors import FunctionError
from pyiii.core.functions import CallContext
from pyiii.core.message_size import UNBOUNDED, message_limit
from pyiii.core.session import Session
from tests.support.fake_peer import FakePeer
from tests.support.waiting import eventually

MIB = 1024 * 1024


@pytest.mark.parametrize(("runtime", "version", "framework", "limit"), [
    ("unknown", None, None, MIB),  # nothing reported yet: the smallest reader
    ("python", "0.22.1", "iii-py", MIB),
    ("python", "0.24.0", "iii-py", MIB),
    ("python", "0.24.5", None, MIB),
    ("python", "not-a-version", None, MIB),
    ("python", "0.24.6", "iii-py", UNBOUNDED),
    ("python", "0.25.0", "iii-py", UNBOUNDED),
    ("python", "0.1.0", "pyiii", UNBOUNDED),  # pyiii's own SDK reads 64 MiB at every version
    ("node", "0.22.1", None, UNBOUNDED),
])
async def test_the_limit_follows_the_reported_runtime_and_version(
    runtime: str, version: str | None, framework: str | None, limit: int
) -> None:
    peer = await FakePeer.connect(Engine(), "w")
    peer.metadata.runtime, peer.metadata.version = runtime, version
    if framework:
        peer.metadata.telemetry = {"framework": framework}
    assert message_limit(peer, MIB) == limit


async def test_large_messages_v1_lifts_the_limit_whatever_the_version() -> None:
    engine = Engine()
    peer = await FakePeer.connect(engine, "w")
    peer.metadata.runtime, peer.metadata.version = "python", "0.22.1"
    engine.accept_features(peer, ["large-messages.v1"])
    assert peer.max_message_bytes == UNBOUNDED


async def test_zero_switches_the_limit_off_and_metadata_updates_recompute_it() -> None:
    peer = await FakePeer.connect(Engine(), "w")
    assert message_limit(peer, 0) == UNBOUNDED
    engine = Engine()
    peer = await FakePeer.connect(engine, "w2")
    assert peer.max_message_bytes == MIB  # greeted before it reported anything
    peer.metadata.runtime, peer.metadata.version = "node", "0.22.1"
    engine.worker_metadata_updated(peer)
    assert peer.max_message_bytes == UNBOUNDED


# ----------------------------------------------------------------------------- the gate on routed calls

BIG = "x" * (MIB + 10)


async def legacy(engine: Engine, worker_id: str) -> FakePeer:
    """A 0.22.1 Python SDK connection (reads 1 MiB)."""
    peer = await FakePeer.connect(engine, worker_id)
    peer.metadata.runtime, peer.metadata.version = "python", "0.22.1"
    engine.worker_metadata_updated(peer)
    return peer


async def modern(engine: Engine, worker_id: str) -> FakePeer:
    peer = await FakePeer.connect(engine, worker_id)
    engine.accept_features(peer, ["large-messages.v1"])
    return peer


async def test_an_oversized_call_to_a_legacy_worker_is_answered_payload_too_large() -> None:
    engine = Engine()
    target = await legacy(engine, "target")
    await target.register_function("svc::f")
    caller = await modern(engine, "caller")

    await caller.invoke("svc::f", {"blob": BIG}, invocation_id="i1")
    reply = await caller.next_result("i1")

    assert reply["error"]["code"] == "payload_too_large"
    assert target.of_type("invokefunction") == [] and not engine.invoker.pending
    await caller.invoke("svc::f", {"blob": "small"}, invocation_id="i2")  # the connection goes on
    await target.answer(await target.next_invoke(), result="ok")
    assert (await caller.next_result("i2"))["result"] == "ok"


async def test_an_oversized_result_for_a_legacy_caller_is_discarded_with_an_error() -> None:
    """§6.1 item 5: a 0.22.1 caller whose result would exceed 1 MiB gets an error result."""
    engine = Engine()
    target = await modern(engine, "target")
    await target.register_function("svc::f")
    caller = await legacy(engine, "caller")

    await caller.invoke("svc::f", {}, invocation_id="i1")
    await target.answer(await target.next_invoke(), result=BIG)
    reply = await caller.next_result("i1")

    assert reply["error"]["code"] == "payload_too_large" and "result" not in reply
    assert max(len(frame) for frame in caller.raw) < MIB


async def test_in_process_callers_get_payload_too_large_and_large_readers_get_everything() -> None:
    engine = Engine()
    target = await legacy(engine, "target")
    await target.register_function("svc::f")
    with pytest.raises(FunctionError) as refused:
        await engine.call("svc::f", {"blob": BIG})
    assert refused.value.code == "payload_too_large"

    big_target = await modern(engine, "big")
    await big_target.register_function("svc::g")
    caller = await modern(engine, "caller")
    await caller.invoke("svc::g", {"blob": BIG}, invocation_id="i1")
    await big_target.answer(await big_target.next_invoke(), result=BIG)
    assert (await caller.next_result("i1"))["result"] == BIG


async def test_an_in_process_functions_oversized_result_for_a_legacy_caller_is_an_error() -> None:
    engine = Engine()

    async def big(_data: Any, _ctx: CallContext) -> Any:
        return BIG

    engine.register_function("svc::big", big)
    caller = await legacy(engine, "caller")
    await caller.invoke("svc::big", {}, invocation_id="i1")
    assert (await caller.next_result("i1"))["error"]["code"] == "payload_too_large"


async def test_a_connection_that_never_registers_is_not_limited_once_its_hold_runs_out() -> None:
    """Every official Python SDK calls engine::workers::register at once; a connection whose
    namespace hold expires without it (a browser, a raw client) is not one of them."""
    engine = Engine()
    peer = FakePeer(engine, "browser")
    peer.session = Session(engine, peer, hold_grace_ms=5_000, hold_quiet_ms=20)
    await engine.connect_peer(peer)
    assert peer.max_message_bytes == MIB
    await peer.register_function("ui::f")  # held until the quiet timer fires

    await eventually(lambda: peer.max_message_bytes == UNBOUNDED, 2, what="the limit lifted")
    peer.metadata.runtime, peer.metadata.version = "python", "0.22.1"  # a late report still counts
    engine.worker_metadata_updated(peer)
    assert peer.max_message_bytes == MIB
