"""Observers (iii 0.25 ``observe``) attacked from the wire: a flood past the per-worker limit, a
filter built to be expensive, a worker that reports invocations of a function it does not host,
a non-owner's ``obs.call``, and an RBAC session observing what it may not call. Each is refused
with a typed code and leaves the engine serving (a real engine process, raw clients)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.rbac_rig import Rig, sync
from tests.support.waiting import eventually, stays
from tests.support.wire import RawWorker

MAX_PER_WORKER = 5


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path, extra={"engine": {"max_observers_per_worker": MAX_PER_WORKER}}).start()
    try:
        yield r
    finally:
        await r.stop()


async def _observer(url: str, name: str) -> RawWorker:
    """A raw 0.25 client: it declares observe.v1 in engine::workers::register."""
    worker = await RawWorker.connect(url)
    answer = await worker.call("engine::workers::register",
                               {"runtime": "python", "version": "0.25.0", "name": name, "features": ["observe.v1"]})
    assert "error" not in answer, answer
    return worker


async def _observe(worker: RawWorker, observer_id: str, source: dict[str, Any],
                   target: str = "sink::t") -> dict[str, Any]:
    await worker.send({"type": "observe", "id": observer_id, "source": source, "target": {"function_id": target}})
    return await worker.expect("observeresult", timeout=10, id=observer_id)


async def _counting_host(rig: Rig, functions: list[str]) -> tuple[RawWorker, list[dict[str, Any]]]:
    """A pre-0.25 worker hosting ``functions`` (observers of them are active at once), answering
    every call and keeping the calls it got."""
    host = await RawWorker.connect(rig.engine.url)
    calls: list[dict[str, Any]] = []

    async def serve() -> None:
        while True:
            frame = await host.inbox.get()
            if frame.get("type") == "invokefunction":
                calls.append(frame)
                if frame.get("invocation_id"):
                    await host.send({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                     "function_id": frame["function_id"], "result": {"ok": True}})

    rig._servers.append(asyncio.ensure_future(serve()))
    for fid in functions:
        await host.register(fid)
    await sync(host)
    return host, calls


async def _acked_observer(rig: Rig, name: str, source: str, observer_id: str, **register: Any) -> RawWorker:
    """An observe.v1 owner hosting ``source`` (registered with ``register``), and an observer of it
    into ``sink::t`` that the owner accepted (state ``active``); returns the owner."""
    owner = await _observer(rig.engine.url, name)
    await owner.register(source, **register)
    await owner.expect("functionregistered", timeout=10, id=source)
    watcher = await _observer(rig.engine.url, f"{name}-watcher")
    await watcher.send({"type": "observe", "id": observer_id, "source": {"function_id": source},
                        "target": {"function_id": "sink::t"}})
    added = await owner.expect("observeradded", timeout=10, function_id=source)
    await owner.send({"type": "observerack", "function_id": source, "namespace": "default", "id": observer_id,
                      "revision": added["revision"]})
    await watcher.expect("observerstatechanged", timeout=10, id=observer_id, state="active")
    return owner


async def test_an_observer_flood_stops_at_the_per_worker_limit(rig: Rig) -> None:
    await _counting_host(rig, ["src::f", "sink::t"])
    watcher = await _observer(rig.engine.url, "flood")
    states = [(await _observe(watcher, f"o-{i}", {"function_id": "src::f"}))["state"] for i in range(MAX_PER_WORKER)]
    assert states == ["active"] * MAX_PER_WORKER
    over = await _observe(watcher, "o-over", {"function_id": "src::f"})
    assert over["state"] == "error" and over["error"]["code"] == "LIMIT_EXCEEDED"
    assert "error" not in await watcher.call("engine::functions::list")  # still serving


async def test_expensive_or_malformed_filters_are_invalid(rig: Rig) -> None:
    await _counting_host(rig, ["src::f", "sink::t"])
    watcher = await _observer(rig.engine.url, "filters")
    deep: dict[str, Any] = {"input.x": {"$eq": 1}}
    for _ in range(20):
        deep = {"$not": deep}
    cases = {
        "too-big": {"input.x": {"$in": ["y" * 100] * 200}},      # over 8192 bytes encoded
        "too-deep": deep,                                       # nesting over 8
        "too-many-in": {"input.x": {"$in": list(range(257))}},  # $in over 256 items
        "literal": {"input.x": 5},                              # no shorthand
        "bad-root": {"secrets.x": {"$exists": True}},
    }
    for observer_id, filters in cases.items():
        answer = await _observe(watcher, observer_id, {"function_id": "src::f", "filters": filters})
        assert answer["state"] == "error" and answer["error"]["code"] == "INVALID_FILTER", (observer_id, answer)
    assert "error" not in await watcher.call("engine::functions::list")


async def test_reports_for_a_function_the_sender_does_not_host_activate_nothing(rig: Rig) -> None:
    _host, sink_calls = await _counting_host(rig, ["sink::t"])
    owner = await _acked_observer(rig, "owner", "src::owned", "o-owned")

    item = {"function_id": "src::owned", "namespace": "default", "invocation_id": "spoofed-1",
            "matched": ["o-owned"], "status": "success", "input": {"n": 1}, "started_at_ms": 1, "duration_ms": 0,
            "observe_depth": 0}
    intruder = await _observer(rig.engine.url, "intruder")
    await intruder.send({"type": "invocationsobserved", "items": [item]})
    await sync(intruder)
    await stays(lambda: not sink_calls, 0.5, what="no activation from a report of a function the sender does not host")

    # control: the same report from the owner activates the target once
    await owner.send({"type": "invocationsobserved", "items": [{**item, "invocation_id": "real-1"}]})
    await sync(owner)
    await eventually(lambda: len(sink_calls) == 1, what="the owner's report activates the target")


async def test_obs_call_from_a_worker_that_does_not_own_the_source_is_refused(rig: Rig) -> None:
    _host, sink_calls = await _counting_host(rig, ["sink::t"])
    owner = await _acked_observer(rig, "owner-delivery", "src::emitter", "o-emit", observe={"delivery": "owner"})

    intruder = await _observer(rig.engine.url, "intruder-delivery")
    answer = await intruder.call("sink::t", {"forged": True}, activation={"observer_id": "o-emit"})
    assert answer["error"]["code"] == "FORBIDDEN", answer
    assert not any(c["data"] == {"forged": True} for c in sink_calls)
    ok = await owner.call("sink::t", {"real": True}, activation={"observer_id": "o-emit"})
    assert "error" not in ok, ok  # the owner's obs.call goes through


async def test_an_rbac_session_may_not_observe_what_it_may_not_call(rig: Rig) -> None:
    await rig.trusted("backend", ["auth::check", "api::open", "secret::inner", "sink::t"])
    session = await _observer(rig.rbac_url, "browser")
    hidden = await _observe(session, "o-hidden", {"function_id": "secret::inner"}, target="api::open")
    assert hidden["state"] == "error" and hidden["error"]["code"] == "FORBIDDEN", hidden
    into_hidden = await _observe(session, "o-into", {"function_id": "api::open"}, target="secret::inner")
    assert into_hidden["state"] == "error" and into_hidden["error"]["code"] == "FORBIDDEN", into_hidden
    allowed = await _observe(session, "o-open", {"function_id": "api::open"}, target="api::open")
    assert allowed["state"] != "error", allowed
