"""F3: the broker goes away for 5 s under load (our own Redis is killed with -9 and restarted on
the same AOF; RabbitMQ: ``rabbitmqctl stop_app`` / ``start_app``, opt-in). The engine stays up,
durable operations fail closed with a typed error during the outage (no in-memory fallback),
consumption resumes after, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.faults.brokers import (
    RedisServer,
    queue_adapter,
    quiet,
    read_log,
    spawn_queue_worker,
    until,
    wait_trigger,
    write_result,
)
from tests.faults.checker import check
from tests.faults.history import History
from tests.faults.support import FULL, RESULTS, SEED
from tests.faults.test_f02_engine_kill import Client
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker

OUTAGES = [5.0, 30.0] if FULL else [5.0]
RATE = 100  # ops per second
RABBIT_OPT_IN = "PYIII_FAULTS_RABBIT_OUTAGE"


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


class Rabbit:
    """The shared local RabbitMQ: stopped only on request, always started again."""

    def kill(self) -> None:
        rabbitmqctl("stop_app")

    def start(self) -> None:
        for _ in range(3):
            try:
                rabbitmqctl("start_app")
                rabbitmqctl("await_startup")
                return
            except subprocess.SubprocessError:
                time.sleep(2)
        raise RuntimeError("RabbitMQ did not come back: run `rabbitmqctl start_app`")


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
async def test_f3_broker_outage_fails_closed_and_resumes(tmp_path: Path, broker: str) -> None:
    rng = random.Random(SEED)
    redis: RedisServer | None = None
    if broker == "rabbitmq" and os.environ.get(RABBIT_OPT_IN) != "1":
        pytest.skip(f"stops the shared RabbitMQ for every user of this box; opt in with {RABBIT_OPT_IN}=1")
    workers: list[dict[str, Any]]
    if broker == "redis":
        redis = RedisServer(tmp_path).start()
        workers = [{"name": "iii-queue", "config": {"adapter": queue_adapter("redis", redis), "lease_ms": 2000}},
                   {"name": "iii-state", "config": {"adapter": {"name": "redis", "config": {"redis_url": redis.url}}}}]
        target: RedisServer | Rabbit = redis
    else:
        workers = [{"name": "iii-queue", "config": {"adapter": queue_adapter("rabbitmq"), "lease_ms": 2000}}]
        target = Rabbit()
    engine = EngineProcess(tmp_path, workers=workers).start()
    log = tmp_path / "handled.log"
    worker = spawn_queue_worker(engine.url, "f3::handle", "f3", log, "ok", {"concurrency": 16})
    history = History()
    client = Client(engine.url)
    windows: list[tuple[float, float, float]] = []  # (monotonic down, monotonic/wall time of the restart)
    restored = True
    try:
        observer = await RawWorker.connect(engine.url)
        await wait_trigger(observer, "f3::handle", "durable:subscriber")
        await observer.close()
        stop = asyncio.Event()

        async def loader() -> None:
            while not stop.is_set():
                pid = str(uuid.uuid4())
                if broker == "redis" and rng.random() < 0.3:
                    await client.call(history, "set", pid, "state::set", {"scope": "f3", "key": pid, "value": pid})
                else:
                    await client.call(history, "publish", pid, "iii::durable::publish",
                                      {"topic": "f3", "data": {"pid": pid}})
                await asyncio.sleep(4 / RATE)

        async def outages() -> None:
            nonlocal restored
            for outage in OUTAGES:
                await asyncio.sleep(1.5)
                restored = False
                await asyncio.to_thread(target.kill)
                down = time.monotonic()
                await asyncio.sleep(outage)
                windows.append((down, time.monotonic(), time.time()))  # before the broker can answer again
                await asyncio.to_thread(target.start)
                restored = True
            await asyncio.sleep(3)
            stop.set()

        await asyncio.gather(outages(), *(loader() for _ in range(4)))
        assert engine.proc is not None and engine.proc.poll() is None, "the engine died with its broker"

        # fail closed: nothing invoked well inside an outage was acknowledged, errors are typed
        inside = [op for op in history.ops for down, up, _ in windows
                  if op.t_invoke > down + 0.5 and op.t_complete is not None and op.t_complete < up]
        assert inside, "no operation ran during the outage"
        assert not [op for op in inside if op.outcome == "ok"], "acknowledged while the broker was down"
        codes = sorted({op.error_code or "unknown" for op in inside})
        assert set(codes) <= {"publish_failed", "SET_ERROR", "unknown"}, codes

        ops = {kind: [op for op in history.ops if op.type == kind] for kind in ("publish", "set")}
        acked = {op.payload_id for op in ops["publish"] if op.outcome == "ok"}
        await until(lambda: acked <= {pid for pid, _ in read_log(log)}, 60, 0.2)
        await quiet(log)  # redeliveries still in flight land before counting
        handled = read_log(log)
        q_report = check(ops["publish"], [pid for pid, _ in handled], allow_duplicates=64)
        # consumption resumes: first message published after the broker was back, handled
        up_mono, up_wall = windows[-1][1], windows[-1][2]
        after = {op.payload_id for op in ops["publish"] if op.t_invoke >= up_mono and op.outcome == "ok"}
        resumed = [t for pid, t in handled if pid in after]
        resume_s = min(resumed) - up_wall if resumed else None
        s_report = None
        if ops["set"]:
            final = await client.get()
            assert final is not None
            listed = (await final.call("state::list", {"scope": "f3"}))["result"]
            s_report = check(ops["set"], [v for v in listed if isinstance(v, str)])
        write_result(RESULTS, f"F3-{broker}-seed{SEED}", {
            "queue": q_report.summary(), "state_set": s_report.summary() if s_report else None,
            "outages_s": OUTAGES, "ops_during_outage": len(inside), "codes_during_outage": codes,
            "resume_after_broker_back_s": round(resume_s, 3) if resume_s is not None else None, "seed": SEED})
        assert q_report.ok, q_report.summary()
        assert s_report is None or s_report.ok, s_report.summary()
        assert resume_s is not None and resume_s <= 5, resume_s
    finally:
        if not restored:
            target.start()
        if client.conn is not None:
            await client.conn.close()
        worker.kill()
        worker.wait()
        engine.stop()
        if redis is not None:
            redis.stop()
