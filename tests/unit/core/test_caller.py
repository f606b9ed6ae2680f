"""``caller`` / ``observe_depth`` validation and stamping (spec iii-0.23-0.25 §5.3.9, §5.9, §5.10)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii import protocol as p
from pyiii.core.caller import MAX_DEPTH, decode_small, forwarded_fields, observe_depth, stamped_caller
from pyiii.core.engine import Engine
from tests.support.fake_peer import FakePeer


@pytest.mark.parametrize(("value", "depth"), [
    (None, 0), (0, 0), (-3, 0), (True, 0), (1.5, 0), ("2", 0), (1, 1), (7, 7), (10**40, MAX_DEPTH),
])
def test_observe_depth_reads_only_positive_integers(value: Any, depth: int) -> None:
    assert observe_depth(value) == depth


async def test_the_engine_stamps_the_calling_connection_and_keeps_valid_asserted_members() -> None:
    peer = await FakePeer.connect(Engine(), "w-1")
    peer.metadata.name = "payments"
    asserted = {
        "worker_id": "spoofed", "worker_name": "spoofed",  # the engine's to say, not the worker's
        "function_id": "api::checkout", "invocation_id": 42,  # a non-string member is dropped
        "parent": {"function_id": "top::fn", "invocation_id": "i-0", "parent": {"function_id": "deeper"},
                   "worker_id": ["x"]},
    }

    caller = stamped_caller(peer, asserted, 64)

    assert caller == {"worker_id": "w-1", "worker_name": "payments", "function_id": "api::checkout",
                      "parent": {"function_id": "top::fn", "invocation_id": "i-0"}}


@pytest.mark.parametrize("asserted", [None, "caller", [1], {"parent": "p"}, {"parent": {"x": 1}}])
async def test_a_malformed_caller_leaves_only_the_engines_stamp(asserted: Any) -> None:
    peer = await FakePeer.connect(Engine(), "w-1")  # no name reported: no worker_name
    assert stamped_caller(peer, asserted, 64) == {"worker_id": "w-1"}


async def test_strings_over_the_limit_are_dropped() -> None:
    peer = await FakePeer.connect(Engine(), "w-1")
    caller = stamped_caller(peer, {"function_id": "f" * 65, "invocation_id": "i" * 64}, 64)
    assert caller == {"worker_id": "w-1", "invocation_id": "i" * 64}


@pytest.mark.parametrize("raw", [p.ABSENT, p.Raw(b"[" * 5000 + b"]" * 5000), p.Raw(b'"' + b"x" * 100 + b'"')])
def test_absent_deep_or_oversized_fields_read_as_none(raw: p.Raw) -> None:
    assert decode_small(raw, 64) is None


async def test_forwarded_fields_are_raw_json_and_depth_0_is_absent() -> None:
    peer = await FakePeer.connect(Engine(), "w-1")
    caller, depth = forwarded_fields(peer, p.to_raw({"function_id": "f"}), p.to_raw(0), 64)
    assert (p.from_raw(caller), depth) == ({"worker_id": "w-1", "function_id": "f"}, p.ABSENT)
    huge = p.to_raw({"function_id": "f", "pad": "x" * 100_000})  # too big to be read at all
    caller, depth = forwarded_fields(peer, huge, p.to_raw(3), 64)
    assert (p.from_raw(caller), p.from_raw(depth)) == ({"worker_id": "w-1"}, 3)


# ----------------------------------------------------------------------------- on routed calls

SDK_025 = ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


async def connect(engine: Engine, worker_id: str, features: list[str]) -> FakePeer:
    peer = await FakePeer.connect(engine, worker_id)
    assert await engine.declare_namespace(peer, None, worker_id, aware=True, features=features)
    peer.metadata.name = worker_id
    return peer


async def test_a_routed_call_carries_the_stamped_caller_and_depth_to_an_observe_target() -> None:
    engine = Engine()
    target = await connect(engine, "target", SDK_025)
    await target.register_function("svc::f")
    caller = await connect(engine, "caller", SDK_025)

    await caller.invoke("svc::f", {"x": 1}, invocation_id="i1",
                        caller={"function_id": "up::fn", "invocation_id": "up-1", "worker_id": "spoof"},
                        observe_depth=2)
    call = await target.next_invoke()

    assert call["caller"] == {"worker_id": "caller", "worker_name": "caller", "function_id": "up::fn",
                              "invocation_id": "up-1"}
    assert call["observe_depth"] == 2


async def test_a_call_from_outside_a_handler_still_names_the_calling_worker_and_omits_depth_0() -> None:
    engine = Engine()
    target = await connect(engine, "target", SDK_025)
    await target.register_function("svc::f")
    caller = await connect(engine, "caller", [])  # a 0.22.1 caller sends neither field

    await caller.invoke("svc::f", {}, invocation_id="i1", observe_depth=0)
    call = await target.next_invoke()

    assert call["caller"] == {"worker_id": "caller", "worker_name": "caller"}
    assert "observe_depth" not in call


async def test_targets_without_observe_v1_never_see_the_fields() -> None:
    """§6.8 item 50: a 0.22.1 / 0.24 worker gets the frame it always got."""
    engine = Engine()
    target = await connect(engine, "target", [])
    await target.register_function("svc::f")
    caller = await connect(engine, "caller", SDK_025)

    await caller.invoke("svc::f", {}, invocation_id="i1", caller={"function_id": "up::fn"}, observe_depth=3)
    await caller.invoke("svc::f", {}, caller={"function_id": "up::fn"}, observe_depth=3)  # void
    sync, void = await target.next_invoke(), await target.next_invoke()

    assert "caller" not in sync and "observe_depth" not in sync
    assert "caller" not in void and "observe_depth" not in void


async def test_engine_originated_calls_carry_no_caller() -> None:
    engine = Engine()
    target = await connect(engine, "target", SDK_025)
    await target.register_function("svc::f")

    pending = asyncio.ensure_future(engine.call("svc::f", {}))
    call = await target.next_invoke()
    await target.answer(call, result=1)

    assert await pending == 1
    assert "caller" not in call and "observe_depth" not in call
