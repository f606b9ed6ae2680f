"""Observers with the official iii-sdk 0.25.0 against a real pyiii engine (spec iii-0.23-0.25
§6.9 items 54, 56, 57, 59, 62, 65, 66).

Three official clients: the source's owner, the target's host (a ``record`` handler that reports
every activation it receives) and the observing worker, which also calls the source: a call from
another worker is routed through the engine, where routed calls are matched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.interop.conftest import DriverWorker, NodeDriver, uid
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually, stays
from tests.support.ws_relay import WireRelay

pytestmark = pytest.mark.interop

SDK = "0.25.0"


class Scene:
    """Owner of ``<p>::src`` (echo) and ``<p>::bad`` (fail), target host, observing worker."""

    def __init__(self, owner: DriverWorker, target: DriverWorker, watcher: DriverWorker, prefix: str) -> None:
        self.owner, self.target, self.watcher = owner, target, watcher
        self.src, self.bad, self.sink = f"{prefix}::src", f"{prefix}::bad", f"{prefix}::sink"

    def activations(self) -> list[dict[str, Any]]:
        return [e for e in self.target.driver.events if e.get("event") == "invoked"
                and e.get("w") == self.target.handle and e.get("function_id") == self.sink]

    async def observe(self, source: dict[str, Any], options: Any = None) -> str:
        return await self.watcher.observe(source, self.sink, options)

    async def call(self, function_id: str, payload: Any) -> Any:
        try:
            return await self.watcher.trigger(function_id, payload)
        except Exception as exc:  # the failing source: the error is the point
            return exc


@pytest.fixture
async def scene(shared_engine: EngineProcess, official_py: Callable[[str], NodeDriver], driver_worker: Any) -> Scene:
    sdk = official_py(SDK)
    prefix = uid("obs")
    owner = await driver_worker(sdk, shared_engine.url, uid("owner"))
    target = await driver_worker(sdk, shared_engine.url, uid("target"))
    watcher = await driver_worker(sdk, shared_engine.url, uid("watcher"))
    made = Scene(owner, target, watcher, prefix)
    await owner.register_function(made.src, "echo")
    await owner.register_function(made.bad, "fail")
    await target.register_function(made.sink, "record")
    return made


async def test_filter_matches_routed_calls_and_the_envelope_is_complete(scene: Scene) -> None:
    """Item 54 (and item 58's metadata: the observer's ``metadata`` option is the target's)."""
    handle = await scene.observe({"function_id": scene.src, "filters": {"input.amount": {"$gte": 500}}},
                                 {"metadata": {"team": "x"}})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await scene.call(scene.src, {"amount": 10})
    await scene.call(scene.src, {"amount": 750})
    got = await eventually(scene.activations, what="an activation")
    data = got[0]["data"]
    assert data["status"] == "success" and data["input"] == {"amount": 750} and data["function_id"] == scene.src
    assert data["output"]["data"]["amount"] == 750  # what the source returned (the echo)
    assert {"observer_id", "activation_id", "namespace", "invocation_id", "caller", "started_at_ms",
            "duration_ms"} <= set(data)
    assert data["caller"]["worker_id"] == scene.watcher.worker_id
    assert got[0]["metadata"] == {"team": "x"}
    await stays(lambda: len(scene.activations()) == 1, 0.5, what="amount 10 activated nothing")


async def test_on_error_and_on_complete(scene: Scene) -> None:
    """Item 56 (``error`` travels when captured: the default capture is input, output, caller,
    as in the SDK's own reports)."""
    errors = await scene.observe({"function_id": scene.bad, "on": "error", "capture": ["input", "error"]})
    both = await scene.observe({"function_id": scene.src, "on": "complete"})
    assert (await scene.watcher.observer_ready(errors, 10))["state"] == "active"
    assert (await scene.watcher.observer_ready(both, 10))["state"] == "active"
    await scene.call(scene.bad, {"n": 1})
    got = await eventually(scene.activations, what="the error activation")
    data = got[0]["data"]
    assert data["status"] == "error" and data["error"]["code"] and "output" not in data
    await scene.call(scene.src, {"n": 2})
    await eventually(lambda: len(scene.activations()) == 2, what="the complete activation")
    assert scene.activations()[1]["data"]["status"] == "success"


async def test_capture_and_deliver(scene: Scene) -> None:
    """Item 57."""
    captured = await scene.observe({"function_id": scene.src, "capture": ["input"], "filters": {
        "input.kind": {"$eq": "capture"}}})
    raw = await scene.observe({"function_id": scene.src, "deliver": "input", "filters": {
        "input.kind": {"$eq": "deliver"}}})
    for handle in (captured, raw):
        assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await scene.call(scene.src, {"kind": "capture"})
    envelope = (await eventually(scene.activations, what="the capture activation"))[0]["data"]
    assert envelope["input"] == {"kind": "capture"} and "output" not in envelope and "caller" not in envelope
    await scene.call(scene.src, {"kind": "deliver", "n": 7})
    await eventually(lambda: len(scene.activations()) == 2, what="the deliver activation")
    assert scene.activations()[1]["data"] == {"kind": "deliver", "n": 7}


async def test_invalid_filter_is_rejected(scene: Scene) -> None:
    """Item 59."""
    handle = await scene.observe({"function_id": scene.src, "filters": {"input.x": 5}})
    settled = await scene.watcher.observer_ready(handle, 10)
    assert settled["state"] == "error" and settled["reason"]["code"] == "INVALID_FILTER"


async def test_max_fires_then_disposed(scene: Scene) -> None:
    """Item 62."""
    handle = await scene.observe({"function_id": scene.src}, {"max_fires": 2})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    for n in range(3):
        await scene.call(scene.src, {"n": n})
    await eventually(lambda: len(scene.activations()) == 2, what="two activations")
    await eventually(lambda: _state(scene, handle), what="disposed")
    await stays(lambda: len(scene.activations()) == 2, 0.5, what="no third activation")


async def _state(scene: Scene, handle: str) -> bool:
    return (await scene.watcher.observer_ready(handle, 0.2))["state"] == "disposed"


async def test_dispose_stops_activations(scene: Scene, shared_engine: EngineProcess) -> None:
    """Item 65."""
    oid = uid("o")
    handle = await scene.observe({"function_id": scene.src}, {"id": oid})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await scene.call(scene.src, {"n": 1})
    await eventually(scene.activations, what="an activation")
    await scene.watcher.driver.call("dispose_observer", handle=handle)

    async def gone() -> bool:
        rows = (await scene.watcher.trigger("engine::observers::list", {"function_id": scene.src}))["observers"]
        return all(r["id"] != oid for r in rows)

    await eventually(gone, what="the engine forgot the observer")
    await scene.call(scene.src, {"n": 2})
    await stays(lambda: len(scene.activations()) == 1, 0.5, what="no activation after dispose")


async def test_missing_target_is_pending_until_it_registers(scene: Scene) -> None:
    """Item 66."""
    late = uid("late") + "::sink"
    handle = await scene.watcher.observe({"function_id": scene.src}, late)
    assert (await scene.watcher.observer_ready(handle, 1))["state"] == "pending"
    await scene.target.register_function(late, "record")
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await scene.call(scene.src, {"n": 1})
    await eventually(lambda: [e for e in scene.target.driver.events if e.get("function_id") == late],
                     what="the late target's activation")


async def test_a_local_call_is_reported_by_its_owner_and_activates(scene: Scene) -> None:
    """Item 55: the owner runs its own function in-process (local dispatch); its SDK matches the
    observer and reports the call in ``invocationsobserved``, and the engine activates."""
    handle = await scene.observe({"function_id": scene.src, "filters": {"input.local": {"$eq": True}}})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    result = await scene.owner.trigger(scene.src, {"local": True})
    assert "_caller_worker_id" not in result["data"]  # it never crossed the engine
    got = await eventually(scene.activations, what="the reported call's activation", timeout=15)
    assert got[0]["data"]["input"] == {"local": True} and got[0]["data"]["status"] == "success"


async def test_allow_false_is_not_observable(scene: Scene) -> None:
    """Item 61."""
    private = scene.src + "-private"
    await scene.owner.register_function(private, "echo", observe={"allow": False})
    handle = await scene.watcher.observe({"function_id": private}, scene.sink)
    settled = await scene.watcher.observer_ready(handle, 10)
    assert settled["state"] == "error" and settled["reason"]["code"] == "NOT_OBSERVABLE"


async def test_expiry_disposes_and_nothing_fires(scene: Scene) -> None:
    """Item 64."""
    handle = await scene.observe({"function_id": scene.src}, {"expires_in_ms": 500})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await eventually(lambda: _state(scene, handle), what="disposed", timeout=5)
    await scene.call(scene.src, {"n": 1})
    await stays(lambda: not scene.activations(), 0.5, what="no activation after expiry")


async def test_owner_gone_suspends_and_a_new_owner_reactivates(
    scene: Scene, shared_engine: EngineProcess, official_py: Callable[[str], NodeDriver], driver_worker: Any
) -> None:
    """Item 67 (the new owner's ``functionregistered`` carries the observer; it acks again)."""
    handle = await scene.observe({"function_id": scene.src})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    await scene.owner.shutdown()

    async def state_is(expected: str) -> bool:
        return (await scene.watcher.observer_ready(handle, 0.2))["state"] == expected

    await eventually(lambda: state_is("suspended"), what="suspended")
    back = await driver_worker(official_py(SDK), shared_engine.url, uid("owner2"))
    await back.register_function(scene.src, "echo")
    await eventually(lambda: state_is("active"), what="active again")
    await scene.call(scene.src, {"n": 1})
    await eventually(scene.activations, what="an activation through the new owner")


# ----------------------------------------------------------------------------- owner delivery


def _added(scene: Scene, oid: str) -> list[dict[str, Any]]:
    return [e for e in scene.owner.driver.events if e.get("event") == "observer_added" and e.get("id") == oid]


async def test_owner_delivery_args_emit_call_and_rejection(scene: Scene) -> None:
    """Item 60."""
    tick = scene.src + "-tick"
    await scene.owner.register_function(tick, "echo", hooks={
        "delivery": "owner",
        "args_format": {"type": "object", "required": ["expression"], "properties": {"expression": {"type": "string"}}},
    })
    bad = await scene.watcher.observe({"function_id": tick, "args": {"expression": 5}}, scene.sink)
    assert (await scene.watcher.observer_ready(bad, 10))["reason"]["code"] == "INVALID_ARGS"
    oid = uid("o")
    good = await scene.watcher.observe({"function_id": tick, "args": {"expression": "* * *"}}, scene.sink, {"id": oid})
    assert (await scene.watcher.observer_ready(good, 10))["state"] == "active"
    assert (await eventually(lambda: _added(scene, oid)))[0]["args"] == {"expression": "* * *"}
    await scene.owner.driver.call("obs_emit", id=oid, event={"kind": "tick"})
    got = await eventually(scene.activations, what="the emitted event's activation")
    assert got[0]["data"]["input"] == {"kind": "tick"}
    answer = await scene.owner.driver.call("obs_call", id=oid, payload={"kind": "call"})
    assert answer is None  # the record sink returns nothing: the target's result, relayed
    await eventually(lambda: any(e["data"] == {"kind": "call"} for e in scene.activations()),
                     what="obs.call delivered the payload as is")
    refused = await scene.watcher.observe({"function_id": tick, "args": {"expression": "x",
                                                                          "reject": "INVALID_CRON_EXPRESSION"}},
                                          scene.sink)
    settled = await scene.watcher.observer_ready(refused, 10)
    assert settled["state"] == "error" and settled["reason"]["code"] == "INVALID_CRON_EXPRESSION"


async def test_legacy_trigger_of_a_022_worker_becomes_an_observer(
    scene: Scene, shared_engine: EngineProcess, official_py: Callable[[str], NodeDriver], driver_worker: Any
) -> None:
    """Item 71: a 0.22.1 worker's ``register_trigger`` of a type only a 0.25 function serves."""
    kind = uid("tick")
    shim = scene.src + "-shim"
    await scene.owner.register_function(shim, "echo", hooks={"delivery": "owner", "legacy_trigger_type": kind})
    old = await driver_worker(official_py("0.22.1"), shared_engine.url, uid("old"))
    target = uid("x") + "::y"
    await old.register_function(target, "record")
    await old.register_trigger(kind, target, {"every": 5})
    added = await eventually(lambda: [e for e in scene.owner.driver.events
                                      if e.get("event") == "observer_added" and e.get("function_id") == shim])
    assert added[0]["legacy"] == {"trigger_type": kind, "config": {"every": 5}} and added[0]["args"] == {"every": 5}
    await scene.owner.driver.call("obs_emit", id=added[0]["id"], event={"kind": "tick"})
    got = await eventually(lambda: [e for e in old.driver.events
                                    if e.get("event") == "invoked" and e.get("function_id") == target])
    assert got[0]["data"]["input"] == {"kind": "tick"}


async def test_max_in_flight_never_overlaps_and_loses_nothing(scene: Scene) -> None:
    """Item 63: a slow target (``sleep``) and ``max_in_flight: 1``; the engine queues the rest."""
    slow = scene.sink + "-slow"
    await scene.target.register_function(slow, "sleep")
    oid = uid("o")
    handle = await scene.watcher.observe({"function_id": scene.src, "deliver": "input"}, slow,
                                         {"id": oid, "max_in_flight": 1})
    assert (await scene.watcher.observer_ready(handle, 10))["state"] == "active"
    for _ in range(3):
        await scene.call(scene.src, {"ms": 150})
    seen: list[dict[str, Any]] = []

    async def done() -> bool:
        rows = (await scene.watcher.trigger("engine::observers::list", {"function_id": scene.src}))["observers"]
        row = next(r for r in rows if r["id"] == oid)
        seen.append(row)
        return row["fires"] == 3 and row["in_flight"] == 0 and row["queued"] == 0

    await eventually(done, what="three activations, one at a time", interval=0.02)
    assert all(r["in_flight"] <= 1 for r in seen) and any(r["queued"] > 0 for r in seen)
    assert seen[-1]["dropped"] == 0


class CuttableRelay(WireRelay):
    """A relay whose worker sockets the test can drop (the engine sees its connection close)."""

    async def _serve(self, worker: Any) -> None:
        self.live = [*getattr(self, "live", []), worker]
        await super()._serve(worker)

    async def cut(self) -> None:
        for worker in getattr(self, "live", []):
            worker.transport.abort()
        self.live = []


async def test_a_dropped_observing_worker_replays_and_keeps_its_budget(
    scene: Scene, shared_engine: EngineProcess, official_py: Callable[[str], NodeDriver], driver_worker: Any
) -> None:
    """Item 68: the socket drops, the SDK reconnects and replays ``observe`` with the same id;
    the observer keeps its state and its ``max_fires`` budget."""
    relay = await CuttableRelay(shared_engine.url).start()
    try:
        watcher = await driver_worker(official_py(SDK), relay.url, uid("watcher"))
        oid = uid("o")
        handle = await watcher.observe({"function_id": scene.src}, scene.sink, {"id": oid, "max_fires": 3})
        assert (await watcher.observer_ready(handle, 10))["state"] == "active"
        await scene.call(scene.src, {"n": 1})
        await eventually(lambda: len(scene.activations()) == 1, what="the first activation")
        first_id = watcher.worker_id
        await relay.cut()

        async def replayed() -> bool:
            state = await watcher.connection()
            if state["state"] != "connected" or state["worker_id"] == first_id:
                return False
            rows = (await scene.watcher.trigger("engine::observers::list", {"function_id": scene.src}))["observers"]
            row = next((r for r in rows if r["id"] == oid), None)
            return row is not None and row["worker_id"] == state["worker_id"] and row["state"] == "active"

        await eventually(replayed, what="the replay on the new connection", timeout=15)
        for n in range(3):
            await scene.call(scene.src, {"n": n + 2})
        await eventually(lambda: len(scene.activations()) == 3, what="the budget's last two activations")
        await stays(lambda: len(scene.activations()) == 3, 0.5, what="no fourth activation (budget kept)")
    finally:
        await relay.stop()
