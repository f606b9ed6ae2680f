"""F14: cron under engine restarts, two engines sharing a Redis lock. Engines are killed with -9
and restarted on a seeded plan (one at a time, and once both together); every tick fires at most
once, ticks scheduled while both engines were down are never fired (no catch-up), every fire is
within ``misfire_grace_ms`` of its scheduled time."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.faults.brokers import RedisServer, write_result
from tests.faults.support import FULL, RESULTS, SEED
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")
ROUNDS = 10 if FULL else 2


def test_f14_cron_two_engines_restarts_no_double_fire_no_catch_up(tmp_path: Path) -> None:
    from iii import InitOptions, register_worker

    rng = random.Random(SEED)
    redis = RedisServer(tmp_path).start()
    cron = {"name": "iii-cron", "config": {"misfire_grace_ms": 1000, "adapter": {"name": "redis", "config": {
        "redis_url": redis.url, "key_prefix": f"f14-{uuid.uuid4().hex[:8]}"}}}}
    engines = []
    for d in "ab":
        (tmp_path / d).mkdir()
        engines.append(EngineProcess(tmp_path / d, workers=[cron]).start())
    fires: list[tuple[str, datetime, datetime]] = []
    lock = threading.Lock()
    workers: list[Any] = []
    try:
        for label, engine in zip("ab", engines, strict=True):
            def run(data: dict[str, Any], label: str = label) -> None:
                with lock:
                    fires.append((label, datetime.fromisoformat(data["scheduled_time"]),
                                  datetime.fromisoformat(data["actual_time"])))

            w = register_worker(engine.url, InitOptions(worker_name=f"f14-{label}", enable_metrics_reporting=False))
            workers.append(w)
            w.register_function("f14.tick", run)
            w.register_trigger({"type": "cron", "function_id": "f14.tick", "config": {"expression": "* * * * * *"}})

        def fired() -> int:
            with lock:
                return len(fires)

        eventually_sync(lambda: fired() >= 2, 15, 0.05, what="the first ticks")
        for _ in range(ROUNDS):  # one engine down at a time: the other keeps firing
            victim = engines[rng.randrange(2)]
            victim.kill()
            time.sleep(rng.uniform(1.0, 2.0))  # not a wait: how long the victim stays down
            victim.start()
            time.sleep(rng.uniform(1.0, 2.0))  # not a wait: how long both run before the next kill
        for e in engines:  # both down: the ticks in between must never fire
            e.kill()
        down = time.time()
        time.sleep(3.0)  # not a wait: the downtime whose ticks must never fire
        up = time.time()
        for e in engines:
            e.start()

        def fired_after_restart() -> int:
            with lock:
                return sum(s.timestamp() > up for _, s, _ in fires)

        # A few ticks from both engines after the restart, so that a double fire would show.
        eventually_sync(lambda: fired_after_restart() >= 3, 20, 0.05, what="cron to resume after the restarts")
        with lock:
            got = list(fires)
        scheduled = [s for _, s, _ in got]
        dupes = sorted({s for s in scheduled if scheduled.count(s) > 1})
        missed_window = [s for s in scheduled if down + 1 < s.timestamp() < up - 0.5]
        jitter = sorted((a - s).total_seconds() for _, s, a in got)
        write_result(RESULTS, f"F14-seed{SEED}", {
            "fires": len(got), "double_fires": len(dupes), "fired_in_downtime": len(missed_window),
            "restarts": ROUNDS + 2, "jitter_p50_ms": round(jitter[len(jitter) // 2] * 1000, 1),
            "jitter_p99_ms": round(jitter[int(len(jitter) * 0.99)] * 1000, 1),
            "jitter_max_ms": round(jitter[-1] * 1000, 1), "by_engine": {k: sum(f[0] == k for f in got) for k in "ab"},
            "seed": SEED})
        assert not dupes, f"ticks fired twice: {dupes}"
        assert not missed_window, f"ticks from the downtime were caught up: {missed_window}"
        assert jitter[-1] <= 1.0, "a fire later than misfire_grace_ms (a catch-up)"
        assert len(got) >= 5 and any(s.timestamp() > up for s in scheduled), "cron did not resume after restarts"
    finally:
        for w in workers:
            try:
                w.shutdown()
            except Exception:
                pass
        for e in engines:
            e.stop()
        redis.stop()
