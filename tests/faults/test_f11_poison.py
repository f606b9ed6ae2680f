"""F11: poison messages and misbehaving handlers. A handler that always raises sends its message
to the DLQ after exactly ``maxRetries + 1`` attempts, spaced by the exponential backoff; the
worker process survives and keeps handling good messages. A handler that blocks its worker's
event loop for 5 s does not stall invocations served by other workers."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from pathlib import Path

from tests.faults.brokers import read_log, spawn_queue_worker, until, wait_trigger, write_result
from tests.faults.checker import check
from tests.faults.history import History
from tests.faults.support import RESULTS, SEED, pending_total, spawn_ready
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually, stays
from tests.support.wire import RawWorker

RETRIES, BACKOFF_MS = 2, 300


async def test_f11_poison_message_dead_letters_and_blocking_handler_is_isolated(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    engine = EngineProcess(tmp_path, workers=[{"name": "iii-queue", "config": {"handler_timeout_ms": 2000}}]).start()
    poison_log, block_log, echo_log = tmp_path / "poison.log", tmp_path / "block.log", tmp_path / "echo.log"
    client = await RawWorker.connect(engine.url)
    procs = [spawn_queue_worker(engine.url, "f11::poison", "f11", poison_log, "poison",
                                {"maxRetries": RETRIES, "backoffDelayMs": BACKOFF_MS}),
             spawn_queue_worker(engine.url, "f11::block", "f11b", block_log, "block", {"maxRetries": 0})]
    try:
        await wait_trigger(client, "f11::poison", "durable:subscriber")
        await wait_trigger(client, "f11::block", "durable:subscriber")
        procs.append(await spawn_ready(client, engine.url, "f11::echo", echo_log, 0, 0))

        # --- poison: exactly RETRIES + 1 attempts with backoff, then the DLQ; good ones still pass
        poison = f"poison-{uuid.UUID(int=rng.getrandbits(128))}"
        history = History()
        goods = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
        for pid in [poison, *goods]:
            op = history.invoke("publish", pid)
            res = await client.call("iii::durable::publish", {"topic": "f11", "data": {"pid": pid}})
            history.complete(op, "fail" if res.get("error") else "ok")

        async def dead_letters() -> list[dict[str, object]]:
            return list((await client.call("engine::queue::dlq_messages", {"topic": "f11"}))["result"])

        dead = await eventually(dead_letters, 20, 0.1, what="the poison message in the DLQ")
        assert len(dead) == 1, dead

        def poison_attempts() -> int:
            return sum(pid == poison for pid, _ in read_log(poison_log))

        # No attempt after the DLQ: another retry would come after the next backoff
        # (BACKOFF_MS * 2**RETRIES = 1.2 s), so 1.5 s covers it.
        await stays(lambda: poison_attempts() == RETRIES + 1, 1.5, what="no attempt after the DLQ")
        attempts = [t for pid, t in read_log(poison_log) if pid == poison]
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        expected = [BACKOFF_MS * 2**n / 1000 for n in range(RETRIES)]
        assert len(attempts) == RETRIES + 1, attempts
        for gap, want in zip(gaps, expected, strict=True):
            assert 0.9 * want <= gap <= 1.1 * want + 0.1, (gaps, expected)
        assert procs[0].poll() is None, "the worker died with its handler"
        late = str(uuid.uuid4())
        op = history.invoke("publish", late)
        res = await client.call("iii::durable::publish", {"topic": "f11", "data": {"pid": late}})
        history.complete(op, "fail" if res.get("error") else "ok")
        await until(lambda: late in {p for p, _ in read_log(poison_log)}, 10, 0.05)
        observed = [p for p, _ in read_log(poison_log) if p != poison]
        report = check([o for o in history.ops if o.payload_id != poison], observed)
        assert report.ok, report.summary()

        # --- a handler blocks its worker's loop for 5 s: another worker's calls are unaffected
        await client.call("iii::durable::publish", {"topic": "f11b", "data": {"pid": "blocker", "block_s": 5}})
        await eventually(lambda: pending_total(client), what="the blocking handler to be running")
        latencies = []
        t_end = time.monotonic() + 4
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            res = await client.call("f11::echo", {"pid": "e"}, timeout=5)
            assert res["result"]["pid"] == "e", res
            latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.02)  # not a wait: the pace of the echo calls during the block
        assert procs[1].poll() is None
        assert max(latencies) < 0.5, max(latencies)
        write_result(RESULTS, f"F11-seed{SEED}", {
            "poison_attempts": len(attempts), "backoff_gaps_s": [round(g, 3) for g in gaps],
            "expected_gaps_s": expected, "dlq": len(dead), "good": report.summary(),
            "echo_calls_during_block": len(latencies), "echo_max_ms": round(max(latencies) * 1000, 1),
            "seed": SEED})
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        await client.close()
        engine.stop()
