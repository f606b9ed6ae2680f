"""Feature negotiation, local dispatch and message sizes with the official SDKs against a real
pyiii engine (spec iii-0.23-0.25 §6.1 items 1, 3, 4, 5 and §6.8 items 49-53).

Frames are seen through ``tests/support/ws_relay.py``, a recording relay between the SDK and the
engine: what the engine sent each SDK, and what the SDK sent back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import ENGINE_ERRORS, DriverWorker, NodeDriver, NodeError, uid, until_registered
from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import eventually
from tests.support.ws_relay import WireRelay

pytestmark = pytest.mark.interop

SDK_025 = "0.25.0"
#: SDKs that must never see the 0.25 frames and fields (spec §6.8 item 50).
OLD_SDKS = ["0.22.1", "0.24.6"]
MIDDLEWARE = "mw::local-gate"
MIB = 1024 * 1024
NEW_FRAMES = {"functionregistered", "observeradded", "observerremoved", "observeresult", "observerstatechanged"}


class Engines:
    """The engine of this module (a main listener and one with ``middleware_function_id``, a
    queue, the metrics), and one that advertises no features (``engine.features: []``)."""

    def __init__(self, workdir: Path) -> None:
        self.mw_port = free_port()
        self.main = EngineProcess(workdir / "main", workers=[
            {"name": "iii-worker-manager", "config": {"port": self.mw_port, "host": "127.0.0.1",
                                                       "middleware_function_id": MIDDLEWARE}},
            {"name": "iii-queue", "config": {}},
            {"name": "iii-observability", "config": {}},
        ])
        self.bare = EngineProcess(workdir / "bare", extra={"engine": {"features": []}})

    @property
    def mw_url(self) -> str:
        return f"ws://127.0.0.1:{self.mw_port}"


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    root = tmp_path_factory.mktemp("local")
    (root / "main").mkdir()
    (root / "bare").mkdir()
    both = Engines(root)
    both.main.start()
    both.bare.start()
    try:
        yield both
    finally:
        both.main.stop()
        both.bare.stop()


@pytest.fixture
async def relay(engines: Engines) -> AsyncIterator[Callable[[str], Any]]:
    """Factory: ``await relay(url)`` -> a started :class:`WireRelay` in front of that listener."""
    made: list[WireRelay] = []

    async def make(url: str) -> WireRelay:
        made.append(await WireRelay(url).start())
        return made[-1]

    yield make
    for r in made:
        await r.stop()


@pytest.fixture
def connect(official_py: Callable[[str], NodeDriver], driver_worker: Any) -> Callable[..., Any]:
    async def make(version: str, url: str, **options: Any) -> DriverWorker:
        worker: DriverWorker = await driver_worker(official_py(version), url, uid(f"py{version}"), **options)
        return worker
    return make


async def remote_trigger(w: DriverWorker, function_id: str, payload: Any) -> Any:
    return await w.driver.call("trigger", w=w.handle, function_id=function_id, payload=payload, dispatch="remote")


def local(result: Any) -> bool:
    """An echo result of a call that never crossed the engine (which injects ``_caller_worker_id``)."""
    return isinstance(result, dict) and "_caller_worker_id" not in result["data"]


# ----------------------------------------------------------------------------- §6.1 handshake


async def test_workerregistered_lists_observe_and_local_dispatch_never_large_messages(
    engines: Engines, relay: Any, connect: Any
) -> None:
    """§6.1 item 1."""
    wire = await relay(engines.main.url)
    await connect(SDK_025, wire.url)
    greeting = wire.frames("to_worker", "workerregistered")[0]
    assert greeting["features"] == ["observe.v1", "local-dispatch.v1"]
    assert greeting["worker_id"] and greeting["reattach_token"]


async def test_an_engine_advertising_nothing_serves_025_as_024(engines: Engines, relay: Any, connect: Any) -> None:
    """§6.1 item 3: ``observe()`` ends UNSUPPORTED; registrations with observe hooks, trigger and
    register_trigger still work; no 0.25 frame either way."""
    wire = await relay(engines.bare.url)
    w = await connect(SDK_025, wire.url)
    src, sink, kind = uid("svc::src"), uid("svc::sink"), uid("tick")
    await w.register_function(src, "echo", observe={"delivery": "auto"})
    await w.register_function(sink, "record")
    await w.register_trigger_type(kind)
    await until_registered(w, src, sink)

    handle = await w.observe({"function_id": src}, sink)
    settled = await w.observer_ready(handle, 2)
    result = await w.trigger(src, {"n": 1})
    await w.register_trigger(kind, sink, {"every": 1})
    bound = await w.driver.wait_event(lambda e: e.get("event") == "register_trigger" and e["w"] == w.handle)

    assert bound["trigger"]["function_id"] == sink
    assert wire.frames("to_engine", "registerfunction", id=src)[0]["observe"]["delivery"] == "auto"
    assert "features" not in wire.frames("to_worker", "workerregistered")[0]
    assert (settled["state"], settled["reason"]["code"]) == ("error", "UNSUPPORTED")
    assert "_caller_worker_id" in result["data"]  # routed: no local dispatch without the ack
    assert not {f["type"] for f in wire.frames("to_worker")} & NEW_FRAMES
    assert not wire.frames("to_engine", "observe") and not wire.frames("to_engine", "localinvocationstats")


async def test_a_025_worker_sends_and_receives_20_mib(engines: Engines, connect: Any) -> None:
    """§6.1 item 4: fragmented outbound messages are reassembled; 64 MiB inbound."""
    owner = await connect(SDK_025, engines.main.url)
    caller = await connect(SDK_025, engines.main.url)
    fid = uid("svc::big")
    await owner.register_function(fid, "echo")
    await until_registered(caller, fid)
    blob = "z" * (20 * MIB)

    result = await caller.driver.call("trigger", timeout=120, w=caller.handle, function_id=fid,
                                      payload={"blob": blob})

    assert len(result["data"]["blob"]) == len(blob) and result["data"]["blob"] == blob


async def test_a_022_caller_gets_payload_too_large_instead_of_a_dropped_connection(
    engines: Engines, connect: Any
) -> None:
    """§6.1 item 5: the result would exceed the 1 MiB a 0.22.1 SDK reads."""
    owner = await connect(SDK_025, engines.main.url)
    caller = await connect("0.22.1", engines.main.url)
    fid = uid("svc::big-answer")
    await owner.register_function(fid, "echo")
    await until_registered(caller, fid)

    with pytest.raises(NodeError) as refused:
        await caller.trigger(fid, {"blob": "y" * (2 * MIB)}, timeout_ms=20_000)

    assert refused.value.code == "payload_too_large"
    assert (await caller.trigger(fid, {"small": True}))["data"]["small"] is True  # same connection goes on
    assert (await caller.connection())["state"] == "connected"


# ----------------------------------------------------------------------------- §6.8 local dispatch


async def test_acks_in_the_resolved_namespace_then_self_calls_stay_local_and_are_reported(
    engines: Engines, relay: Any, connect: Any
) -> None:
    """§6.8 items 49 and 51."""
    wire = await relay(engines.main.url)
    w = await connect(SDK_025, wire.url, namespace="orders")
    fid = uid("orders::create")
    await w.register_function(fid, "echo")
    ack = (await eventually(lambda: wire.frames("to_worker", "functionregistered", id=fid), 10,
                            what="functionregistered"))[0]
    assert ack == {"type": "functionregistered", "id": fid, "namespace": "orders", "revision": 0,
                   "local_dispatch": True, "observers": []}

    routed_before = len(wire.frames("to_engine", "invokefunction", function_id=fid))
    assert local(await w.trigger(fid, {"n": 1}))
    assert local(await w.trigger(fid, {"n": 2}))
    assert len(wire.frames("to_engine", "invokefunction", function_id=fid)) == routed_before

    def reported() -> int:
        return sum(row["count"] for report in wire.frames("to_engine", "localinvocationstats")
                   for row in report["functions"] if row["function_id"] == fid)

    assert await eventually(lambda: reported() >= 2, 15, 0.1, what="localinvocationstats")

    async def counted() -> Any:
        rows = (await w.trigger("engine::functions::list", {}))["functions"]
        return [r.get("local_invocations") for r in rows if r["function_id"] == fid]

    assert await eventually(lambda: _ge(counted(), 2), 5, 0.1, what="local_invocations in the listing",
                            retry_on=ENGINE_ERRORS)
    workers = (await w.trigger("engine::workers::list", {}))["workers"]
    mine = [row for row in workers if row.get("id") == await w.current_worker_id()]
    assert mine and mine[0]["local_invocations"] >= 2
    metrics = (await w.trigger("engine::metrics::list", {}))["engine_metrics"]["invocations"]["by_function"]
    assert metrics[fid]["total"] >= 2  # counted like routed calls, though the engine never saw them


async def _ge(rows: Any, n: int) -> bool:
    values = await rows
    return bool(values) and isinstance(values[0], int) and values[0] >= n


@pytest.mark.parametrize("version", OLD_SDKS)
async def test_old_sdks_never_see_the_new_frames_or_fields(
    engines: Engines, relay: Any, connect: Any, version: str
) -> None:
    """§6.8 item 50: no functionregistered, no caller / observe_depth on calls they receive,
    even from a 0.25 caller inside a handler."""
    wire = await relay(engines.main.url)
    old = await connect(version, wire.url)
    new = await connect(SDK_025, engines.main.url)
    target, hop = uid("svc::old"), uid("svc::hop")
    await old.register_function(target, "echo")
    await new.register_function(hop, "call")
    await until_registered(new, target, hop)

    result = await new.trigger(hop, {"target": target, "payload": {"n": 1}})

    assert result["data"]["n"] == 1
    calls = wire.frames("to_worker", "invokefunction", function_id=target)
    assert calls and all("caller" not in c and "observe_depth" not in c for c in calls)
    assert not {f["type"] for f in wire.frames("to_worker")} & NEW_FRAMES


async def test_a_025_target_learns_who_called_from_inside_a_handler(
    engines: Engines, relay: Any, connect: Any
) -> None:
    """§5.9: the engine stamps the calling connection onto what the SDK asserted."""
    wire = await relay(engines.main.url)
    target_worker = await connect(SDK_025, wire.url)
    caller = await connect(SDK_025, engines.main.url)
    target, hop = uid("svc::target"), uid("svc::hop")
    await target_worker.register_function(target, "echo")
    await caller.register_function(hop, "call")
    await until_registered(caller, target, hop)

    await remote_trigger(caller, hop, {"target": target, "payload": {}})

    call = wire.frames("to_worker", "invokefunction", function_id=target)[-1]
    assert call["caller"]["worker_id"] == await caller.current_worker_id()
    assert call["caller"]["worker_name"] == caller.name
    assert call["caller"]["function_id"] == hop and call["caller"]["invocation_id"]
    assert "observe_depth" not in call


async def test_remote_dispatch_enqueue_and_a_conflict_go_through_the_engine(
    engines: Engines, relay: Any, connect: Any
) -> None:
    """§6.8 item 52."""
    wire = await relay(engines.main.url)
    w = await connect(SDK_025, wire.url, namespace="orders")
    mine, taken = uid("svc::mine"), uid("svc::taken")
    incumbent = await connect(SDK_025, engines.main.url, namespace="orders")
    await incumbent.register_function(taken, "echo")
    await until_registered(incumbent, taken)
    await w.register_function(mine, "record")
    await w.register_function(taken, "echo")  # FUNCTION_NAMESPACE_CONFLICT: the incumbent keeps it
    await eventually(lambda: wire.frames("to_worker", "registrationrejected", function_id=taken), 10,
                     what="the conflict")
    await eventually(lambda: wire.frames("to_worker", "functionregistered", id=mine), 10, what="the ack")

    await remote_trigger(w, mine, {"via": "remote"})
    await w.trigger(mine, {"via": "enqueue"}, action={"type": "enqueue", "queue": "default"})
    conflicted = await w.trigger(taken, {"via": "conflict"})

    assert wire.frames("to_engine", "invokefunction", function_id=mine, action=None)
    assert [f for f in wire.frames("to_engine", "invokefunction", function_id=mine)
            if (f.get("action") or {}).get("type") == "enqueue"]
    assert conflicted["worker"] == incumbent.handle and "_caller_worker_id" in conflicted["data"]


async def test_behind_listener_middleware_there_is_no_local_dispatch(
    engines: Engines, relay: Any, connect: Any
) -> None:
    """§6.8 item 53: the ack says false and the self-call passes through the middleware."""
    gate = await connect(SDK_025, engines.main.url)
    await gate.register_function(MIDDLEWARE, "echo")
    await until_registered(gate, MIDDLEWARE)
    wire = await relay(engines.mw_url)
    w = await connect(SDK_025, wire.url)
    fid = uid("svc::gated")
    await w.register_function(fid, "echo")
    ack = (await eventually(lambda: wire.frames("to_worker", "functionregistered", id=fid), 10, what="ack"))[0]

    result = await w.trigger(fid, {"n": 7})

    assert ack["local_dispatch"] is False
    assert result["worker"] == gate.handle and result["data"]["function_id"] == fid  # the middleware answered
