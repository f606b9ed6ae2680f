"""F1: ``kill -9`` of a worker mid-invocation. Sync callers get a typed ``invocation_stopped``
within 1 s (not the 30 s SDK timeout); nothing acked is lost; the pending map drains to 0."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time
import uuid
from pathlib import Path

from tests.faults.checker import check
from tests.faults.history import History
from tests.faults.support import FAULTS, OPS, RESULTS, SEED, pending_total, spawn_ready
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker, wait_function


async def test_f1_kill_worker_mid_invocation(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    engine = EngineProcess(tmp_path).start()
    caller = await RawWorker.connect(engine.url)
    history, log = History(), tmp_path / "observed.log"
    stop_latency: list[float] = []
    try:
        per_round = max(1, OPS // FAULTS)
        for _ in range(FAULTS):
            worker = await spawn_ready(caller, engine.url, "f1::work", log, 20, 150)
            kill_at: list[float] = []

            async def one(pid: str, kill_at: list[float] = kill_at) -> None:
                op = history.invoke("invoke", pid)
                res = await caller.call("f1::work", {"pid": pid}, timeout=30)
                err = res.get("error")
                history.complete(op, "fail" if err else "ok", err["code"] if err else None)
                if err and err["code"] == "invocation_stopped":
                    stop_latency.append(time.monotonic() - kill_at[0])

            async def killer(worker: subprocess.Popen[bytes] = worker, kill_at: list[float] = kill_at) -> None:
                await asyncio.sleep(rng.uniform(0.05, 0.2))
                kill_at.append(time.monotonic())
                worker.send_signal(signal.SIGKILL)

            await asyncio.gather(killer(), *(one(str(uuid.uuid4())) for _ in range(per_round)))
            worker.wait(5)
            # the engine saw the death: the next round's spawn_ready waits for a new registration
            await wait_function(caller, "f1::work", present=False)
        codes = {op.error_code for op in history.ops if op.outcome == "fail"}
        assert codes <= {"invocation_stopped", "function_not_found", "channel_send_failed"}, codes
        assert stop_latency, "no call was in flight at a kill: the scenario did not exercise anything"
        assert max(stop_latency) <= 1.0, f"typed error took {max(stop_latency):.3f}s"
        report = check(history.ops, log.read_text().split() if log.exists() else [])
        assert report.ok, report.summary()
        assert await pending_total(caller) == 0
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F1-seed{SEED}.json").write_text(json.dumps({
            **report.summary(), "faults": FAULTS, "seed": SEED,
            "time_to_typed_error_max_s": round(max(stop_latency), 4),
            "time_to_typed_error_p50_s": round(sorted(stop_latency)[len(stop_latency) // 2], 4)}))
    finally:
        await caller.close()
        engine.stop()
