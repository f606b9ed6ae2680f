"""The ``iii-bridge`` worker carries a call's trace across engines, both ways: a forwarded call
reaches the remote function in the caller's trace, and so does an exposed function's call back
into this engine (pyiii.sdk workers on both sides, which read the trace they were called in)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyiii import InitOptions, register_worker
from pyiii.sdk.trace_context import TraceContext, current, enter, leave
from pyiii.w3c_trace import parse_traceparent
from tests.integration.bridge.test_iii_bridge_worker import Engines
from tests.support.waiting import eventually_sync

TRACE_A = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_B = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    e = Engines(tmp_path_factory.mktemp("bridge-trace"))
    try:
        yield e
    finally:
        e.stop()


def _trace_id(traceparent: str | None) -> str | None:
    parsed = parse_traceparent(traceparent)
    return parsed.trace_id if parsed is not None else None


def _call_in_trace(worker: Any, traceparent: str, function_id: str, payload: Any) -> Any:
    token = enter(TraceContext(traceparent, None))
    try:
        return worker.trigger({"function_id": function_id, "payload": payload})
    finally:
        leave(token)


def test_the_trace_crosses_the_bridge_both_ways(engines: Engines) -> None:
    seen: dict[str, str | None] = {}

    async def total(data: Any) -> Any:
        ctx = current()
        seen["backend"] = ctx.traceparent if ctx else None
        return {"total": sum(data["items"])}

    async def greet(data: Any) -> Any:
        ctx = current()
        seen["front"] = ctx.traceparent if ctx else None
        return f"hello {data['name']}"

    with register_worker(engines.backend.url, InitOptions(worker_name="billing")) as back, \
            register_worker(engines.front.url, InitOptions(worker_name="shop")) as front:
        back.register_function("billing::total", total)
        front.register_function("front::greet", greet)

        def forwarded() -> Any:
            try:
                return _call_in_trace(front, TRACE_A, "orders::total", {"items": [1, 2]})
            except Exception:
                return None

        assert eventually_sync(forwarded, 15, what="orders::total answers through the bridge") == {"total": 3}
        assert _trace_id(seen["backend"]) == _trace_id(TRACE_A)

        def exposed() -> Any:
            try:
                return _call_in_trace(back, TRACE_B, "remote::greet", {"name": "ada"})
            except Exception:
                return None

        assert eventually_sync(exposed, 15, what="remote::greet answers through the bridge") == "hello ada"
        assert _trace_id(seen["front"]) == _trace_id(TRACE_B)
