"""F4 (half-open peers, heartbeat, reconnect), F12 (duplicate / reordered results), F13
(conflicting and hostile registrations), F16 (SIGTERM with in-flight calls) and the per-worker
limits, each against a real engine process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from tests.faults.chaos_proxy import ThreadedChaosProxy
from tests.faults.checker import check
from tests.faults.history import History
from tests.faults.support import RESULTS, SEED, pending_total, spawn_ready, spawn_worker
from tests.support.engine import EngineProcess, free_port
from tests.support.procstat import rss_kb
from tests.support.waiting import eventually
from tests.support.wire import RawWorker, wait_function

os.environ.setdefault("OTEL_ENABLED", "false")


def _listener(port: int, **cfg: Any) -> dict[str, Any]:
    return {"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1", **cfg}}


async def _ids(client: RawWorker) -> list[str]:
    res = await client.call("engine::functions::list", {"include_internal": True})
    return [f["function_id"] for f in res["result"]["functions"]]


# ------------------------------------------------------------------ F4


async def test_f4_half_open_peer_detected_and_sdk_recovers(tmp_path: Path) -> None:
    hb_port = free_port()
    interval_ms, timeout_ms = 1000, 300
    engine = EngineProcess(tmp_path, workers=[_listener(hb_port, ping_interval_ms=interval_ms, close_timeout_ms=300,
                                                        ping_timeout_ms=timeout_ms)]).start()
    proxy = ThreadedChaosProxy(hb_port).start()
    observer = await RawWorker.connect(engine.url)
    worker = None
    try:
        worker = await spawn_ready(observer, f"ws://127.0.0.1:{proxy.port}", "f4::fn",
                                   tmp_path / "obs.log", 2000, 2000)
        inflight = asyncio.ensure_future(observer.call("f4::fn", {"pid": "x"}, timeout=30))
        await eventually(lambda: pending_total(observer), what="the call to be in flight at the worker")
        proxy.set_mode("blackhole")  # no FIN, no RST: only the heartbeat can tell
        cut = time.monotonic()
        await wait_function(observer, "f4::fn", present=False, timeout=10)
        detected = time.monotonic() - cut
        res = await inflight
        assert res["error"]["code"] == "invocation_stopped"
        assert detected <= 2 * interval_ms / 1000, f"half-open peer detected after {detected:.2f}s"
        # The link comes back broken (RST): the SDK reconnects and re-registers exactly once.
        proxy.reset_all()
        proxy.set_mode("pass")
        await wait_function(observer, "f4::fn", timeout=30)
        assert (await _ids(observer)).count("f4::fn") == 1
        assert (await observer.call("f4::fn", {"pid": "y"}))["result"]["pid"] == "y"
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F4-seed{SEED}.json").write_text(json.dumps(
            {"half_open_detected_s": round(detected, 3), "ping_interval_ms": interval_ms,
             "ping_timeout_ms": timeout_ms}))
    finally:
        if worker is not None:
            worker.kill()
        await observer.close()
        proxy.stop()
        engine.stop()


# ------------------------------------------------------------------ F12


async def test_f12_duplicate_and_reordered_results_resolve_exactly_once(engine: EngineProcess) -> None:
    owner = await RawWorker.connect(engine.url)
    caller = await RawWorker.connect(engine.url)
    try:
        await owner.register("f12::fn")
        await wait_function(caller, "f12::fn")
        ids = [str(uuid.uuid4()) for _ in range(5)]
        for i, inv in enumerate(ids):
            await caller.send({"type": "invokefunction", "invocation_id": inv, "function_id": "f12::fn",
                               "data": {"i": i}})
        received = [await owner.expect("invokefunction", function_id="f12::fn") for _ in ids]
        for frame in reversed(received):  # out of order, each twice, plus one unknown id
            for _ in range(2):
                await owner.send({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                  "function_id": "f12::fn", "result": frame["data"]["i"]})
        await owner.send({"type": "invocationresult", "invocation_id": str(uuid.uuid4()),
                          "function_id": "f12::fn", "result": "ghost"})
        await owner.send({"type": "ping"})
        await owner.expect("pong")  # the engine handled (and forwarded) everything above
        await caller.send({"type": "ping"})
        results = []
        async with asyncio.timeout(5):
            while (f := await caller.inbox.get())["type"] != "pong":
                if f["type"] == "invocationresult":
                    results.append(f)
        by_id = {f["invocation_id"]: f["result"] for f in results}
        assert len(results) == len(ids) and by_id == {inv: i for i, inv in enumerate(ids)}
        assert await pending_total(caller) == 0
    finally:
        await owner.close()
        await caller.close()


# ------------------------------------------------------------------ F13


async def test_f13_same_id_from_two_workers_ownership(engine: EngineProcess) -> None:
    a = await RawWorker.connect(engine.url)
    b = await RawWorker.connect(engine.url)
    c = await RawWorker.connect(engine.url)
    try:
        await a.register("f13::dup")
        await wait_function(c, "f13::dup")
        await b.register("f13::dup")  # last writer wins
        await b.send({"type": "ping"})
        await b.expect("pong")
        call = asyncio.ensure_future(c.call("f13::dup", {}))
        inv = await b.expect("invokefunction", function_id="f13::dup")
        await b.send({"type": "invocationresult", "invocation_id": inv["invocation_id"],
                      "function_id": "f13::dup", "result": "b"})
        assert (await call)["result"] == "b"
        await a.send({"type": "unregisterfunction", "id": "f13::dup"})  # not the owner: no-op
        a_id = a.worker_id
        await a.close()

        async def a_gone() -> bool:  # the engine has handled a's frames and its disconnect
            res = await c.call("engine::workers::list", {})
            return a_id not in {w["id"] for w in res["result"]["workers"]}

        await eventually(a_gone, 5, what="a's disconnect to be handled")
        assert "f13::dup" in await _ids(c)
        await b.close()
        await wait_function(c, "f13::dup", present=False)
    finally:
        await c.close()


async def test_f13_registration_quota_refuses_with_typed_error(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path, extra={"engine": {"max_functions_per_worker": 100,
                                                       "max_triggers_per_worker": 10}}).start()
    w = await RawWorker.connect(engine.url)
    try:
        rss_before = rss_kb(engine.proc.pid)  # type: ignore[union-attr]
        for i in range(5000):
            await w.register(f"f13::n{i}", description="x" * 100)
        refused = 0
        async with asyncio.timeout(30):
            while refused < 4900:
                frame = await w.inbox.get()
                if frame["type"] == "triggerregistrationresult":
                    assert frame["error"]["code"] == "limit_exceeded"
                    refused += 1
        ids = [i for i in await _ids(w) if i.startswith("f13::")]
        assert len(ids) == 100
        for i in range(20):
            await w.send({"type": "registertrigger", "id": f"t{i}", "trigger_type": "engine::workers-available",
                          "function_id": "f13::n0", "config": {}})
        r = await w.expect("triggerregistrationresult", id="t10")
        assert r["error"]["code"] == "limit_exceeded"
        assert rss_kb(engine.proc.pid) - rss_before < 50_000  # type: ignore[union-attr]
    finally:
        await w.close()
        engine.stop()


# ------------------------------------------------------------------ F16


async def test_f16_sigterm_answers_every_inflight_caller(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path).start()
    caller = await RawWorker.connect(engine.url)
    log = tmp_path / "obs.log"
    worker = await spawn_ready(caller, engine.url, "f16::slow", log, 300, 3000)
    history = History()
    try:
        async def one(i: int) -> None:
            op = history.invoke("invoke", f"p{i}")
            try:
                res = await caller.call("f16::slow", {"pid": f"p{i}"}, timeout=30)
            except Exception:
                return  # connection gone without an answer: stays unresolved -> the checker fails
            err = res.get("error")
            history.complete(op, "fail" if err else "ok", err["code"] if err else None)

        calls = asyncio.gather(*(one(i) for i in range(200)))

        async def all_dispatched() -> bool:  # every call reached the worker (in flight or answered)
            answered = sum(op.completions > 0 for op in history.ops)
            return answered + await pending_total(caller) >= 200

        await eventually(all_dispatched, what="the 200 calls to reach the worker")
        started = time.monotonic()
        assert engine.proc is not None
        engine.proc.send_signal(signal.SIGTERM)
        await calls
        code = await asyncio.to_thread(engine.proc.wait, 20)
        took = time.monotonic() - started
        assert code == 0
        assert took <= 10 + 2, f"exit took {took:.1f}s (grace 10 s)"
        report = check(history.ops, log.read_text().split())
        assert report.ok, report.summary()
        codes = {op.error_code for op in history.ops if op.outcome == "fail"}
        assert codes <= {"engine_shutdown", "invocation_stopped"}, codes
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F16-seed{SEED}.json").write_text(json.dumps({**report.summary(), "exit_s": round(took, 2)}))
    finally:
        worker.kill()
        await caller.close()
        engine.stop()


# ------------------------------------------------------------------ limits


async def test_limit_pending_invocations_per_worker(tmp_path: Path) -> None:
    # One caller here: give it the whole quota (test_caller_quota covers the per-caller share).
    engine = EngineProcess(
        tmp_path, extra={"engine": {"max_pending_per_worker": 5, "max_pending_caller_share": 1.0}}
    ).start()
    owner = await RawWorker.connect(engine.url)
    caller = await RawWorker.connect(engine.url)
    try:
        await owner.register("lim::never")  # never answers
        await wait_function(caller, "lim::never")
        calls = [asyncio.ensure_future(caller.call("lim::never", {}, timeout=30)) for _ in range(8)]
        done, _ = await asyncio.wait(calls, timeout=5, return_when=asyncio.ALL_COMPLETED)
        errors = [t.result()["error"]["code"] for t in done]
        assert errors == ["limit_exceeded"] * 3
        await owner.close()  # the 5 waiting calls resolve with invocation_stopped
        rest = await asyncio.gather(*calls)
        assert sum(r["error"]["code"] == "invocation_stopped" for r in rest) == 5
    finally:
        await caller.close()
        engine.stop()


async def test_limit_connections_per_listener(tmp_path: Path) -> None:
    port = free_port()
    engine = EngineProcess(tmp_path, workers=[_listener(port, max_connections=3)]).start()
    clients = [await RawWorker.connect(f"ws://127.0.0.1:{port}") for _ in range(3)]
    try:
        with pytest.raises(InvalidStatus) as info:
            await RawWorker.connect(f"ws://127.0.0.1:{port}")
        assert info.value.response.status_code == 503
        await clients.pop().close()

        async def room() -> RawWorker | None:  # the engine frees the slot once it saw the close
            try:
                return await RawWorker.connect(f"ws://127.0.0.1:{port}")
            except InvalidStatus:
                return None

        clients.append(await eventually(room, 5, 0.05, what="room for a connection again"))
    finally:
        for c in clients:
            await c.close()
        engine.stop()


def test_worker_process_helper_is_importable() -> None:
    assert callable(spawn_worker)
