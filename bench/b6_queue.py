"""B6 — durable queue: consume throughput and pickup latency.

pyiii's iii-queue on each adapter (SQLite, memory, Redis, RabbitMQ), end to end through a real
engine process and a raw-protocol worker, against the raw clients as floors:

* raw redis-py streams: XADD, then XREADGROUP (COUNT 64) + XACK (the floor for the Redis adapter);
* raw aio-pika: confirmed publishes, then a prefetch-64 manual-ack consumer (floor for RabbitMQ).

throughput: a subscriber (concurrency 64) is bound before its function exists, N messages are
published (stored in its queue), then the function is registered; the clock runs from that
registration to the N-th handler call. pickup: one message at a time, from the publish call to the handler call.

    python bench/run.py --only b6 [--quick|--smoke]     # the run.py contract (NAME, run(opts))
    python bench/b6_queue.py [--quick]                  # standalone

Peers (Redis): Dramatiq (1 process x 10 threads), arq (max_jobs 10), Celery (threads, 10,
acks_late) from bench/baselines/queue_peers.py: the queue is pre-filled with N no-op jobs, then
the worker starts; consume rate = N / (last job - first job) as the worker measures it, CPU =
the worker's process time over the same span. bullmq and taskiq-redis are not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import qbench
from qbench import ROOT, RawWorker, gather_windowed, ms, service_up, start_engine

REDIS_URL = "redis://127.0.0.1:6379"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def adapter_block(name: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    if name == "redis":
        return {"name": "redis", "config": {"redis_url": REDIS_URL, "key_prefix": f"bench:{tag}"}}
    if name == "rabbitmq":
        return {"name": "rabbitmq", "config": {"amqp_url": AMQP_URL, "name_prefix": f"bench-{tag}"}}
    if name == "sqlite-normal":
        return {"name": "sqlite", "config": {"synchronous": "NORMAL"}}
    return {"name": name}


async def pyiii_cell(adapter: str, n: int, pickups: int) -> dict[str, Any]:
    engine = start_engine([{"name": "iii-queue", "config": {"adapter": adapter_block(adapter)}}])
    w = await RawWorker().connect(engine.url)
    try:
        done = asyncio.Event()
        count = 0
        stamps: list[float] = []

        async def consume(_data: Any) -> None:
            nonlocal count
            count += 1
            stamps.append(time.perf_counter())
            if count == n:
                done.set()

        # Bind first while the function is not registered yet: the consumer waits for it, so
        # the N messages are stored in the subscriber's own queue before the clock starts.
        await w.register_trigger("durable:subscriber", "b6.consume",
                                 {"topic": "b6", "queue_config": {"concurrency": 64}})
        await w.wait_bindings("b6.consume")
        t0 = time.perf_counter()
        await gather_windowed([w.call("iii::durable::publish", {"topic": "b6", "data": {"i": i}})
                               for i in range(n)], 256)
        publish_rate = n / (time.perf_counter() - t0)
        assert engine.proc is not None
        c0 = _cpu_ms(engine.proc.pid)
        t1 = time.perf_counter()
        await w.register_function("b6.consume", consume)
        await asyncio.wait_for(done.wait(), 300)
        consume_rate = n / (time.perf_counter() - t1)
        cpu_per_1k = (_cpu_ms(engine.proc.pid) - c0) / n * 1000
        # pickup: publish -> handler, one at a time
        latencies: list[float] = []
        for _ in range(pickups):
            before = len(stamps)
            start = time.perf_counter()
            await w.call("iii::durable::publish", {"topic": "b6", "data": {"p": 1}})
            while len(stamps) == before:  # noqa: ASYNC110 (a bare yield; the handler takes the timestamp)
                await asyncio.sleep(0)
            latencies.append(stamps[before] - start)
        return {"publish_per_s": round(publish_rate), "consume_per_s": round(consume_rate), "pickup": ms(latencies),
                "cpu_ms_per_1k": cpu_per_1k}
    finally:
        await w.close()
        engine.stop()


def _cpu_ms(pid: int) -> float:
    from common.harness import cpu_ms

    return cpu_ms([pid])


async def raw_redis_cell(n: int, pickups: int) -> dict[str, Any]:
    from redis.asyncio import Redis

    r = Redis.from_url(REDIS_URL)
    key = f"bench:raw:{uuid.uuid4().hex[:8]}"
    try:
        await r.xgroup_create(key, "g", id="0", mkstream=True)
        t0 = time.perf_counter()
        for i in range(0, n, 256):
            async with r.pipeline(transaction=False) as pipe:
                for j in range(i, min(n, i + 256)):
                    pipe.xadd(key, {"m": json.dumps({"i": j})})
                await pipe.execute()
        publish_rate = n / (time.perf_counter() - t0)
        t1 = time.perf_counter()
        got = 0
        while got < n:
            res = await r.xreadgroup("g", "c", {key: ">"}, count=64, block=1000)
            ids = [eid for eid, _ in res[0][1]] if res else []
            got += len(ids)
            if ids:
                async with r.pipeline(transaction=True) as pipe:
                    pipe.xack(key, "g", *ids)
                    pipe.xdel(key, *ids)
                    await pipe.execute()
        consume_rate = n / (time.perf_counter() - t1)
        latencies = []
        for _ in range(pickups):
            reader = asyncio.create_task(r.xreadgroup("g", "c", {key: ">"}, count=1, block=5000))
            await asyncio.sleep(0.002)
            start = time.perf_counter()
            await r.xadd(key, {"m": "{}"})
            res = await reader
            latencies.append(time.perf_counter() - start)
            await r.xack(key, "g", res[0][1][0][0])
        return {"publish_per_s": round(publish_rate), "consume_per_s": round(consume_rate), "pickup": ms(latencies)}
    finally:
        await r.delete(key)
        await r.aclose()


async def raw_rabbit_cell(n: int, pickups: int) -> dict[str, Any]:
    import aio_pika

    conn = await aio_pika.connect_robust(AMQP_URL)
    try:
        ch = await conn.channel(publisher_confirms=True)
        name = f"bench-raw-{uuid.uuid4().hex[:8]}"
        q = await ch.declare_queue(name, durable=True, auto_delete=True)

        def message(body: bytes) -> aio_pika.Message:
            return aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

        t0 = time.perf_counter()
        await gather_windowed([ch.default_exchange.publish(message(json.dumps({"i": i}).encode()), routing_key=name)
                               for i in range(n)], 256)
        publish_rate = n / (time.perf_counter() - t0)
        cch = await conn.channel()
        await cch.set_qos(prefetch_count=64)
        cq = await cch.declare_queue(name, durable=True, auto_delete=True)
        done = asyncio.Event()
        got = 0
        stamps: list[float] = []

        async def on_message(msg: Any) -> None:
            nonlocal got
            await msg.ack()
            got += 1
            stamps.append(time.perf_counter())
            if got == n:
                done.set()

        t1 = time.perf_counter()
        await cq.consume(on_message)
        await asyncio.wait_for(done.wait(), 300)
        consume_rate = n / (time.perf_counter() - t1)
        latencies = []
        for _ in range(pickups):
            before = len(stamps)
            start = time.perf_counter()
            await ch.default_exchange.publish(message(b"{}"), routing_key=name)
            while len(stamps) == before:  # noqa: ASYNC110 (a bare yield; the handler takes the timestamp)
                await asyncio.sleep(0)
            latencies.append(stamps[before] - start)
        del q
        return {"publish_per_s": round(publish_rate), "consume_per_s": round(consume_rate), "pickup": ms(latencies)}
    finally:
        await conn.close()


PEER_CMDS = {
    "dramatiq": [sys.executable, "-m", "dramatiq", "baselines.queue_peers", "--processes", "1", "--threads", "10"],
    "arq": [sys.executable, "-m", "arq", "baselines.queue_peers.WorkerSettings"],
    "celery": [sys.executable, "-m", "celery", "-A", "baselines.queue_peers", "worker", "-P", "threads", "-c", "10",
               "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
}


async def peer_cell(peer: str, n: int) -> dict[str, Any]:
    """Enqueue N no-op jobs with the peer's client, then start its worker and let it drain them."""
    from redis.asyncio import Redis

    ns = f"bench-{peer}-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    if peer == "dramatiq":
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=REDIS_URL, namespace=ns)
        for i in range(n):
            broker.enqueue(dramatiq.Message(queue_name="default", actor_name="noop", args=(i,), kwargs={},
                                            options={}))
        broker.close()
    elif peer == "arq":
        from arq import create_pool
        from arq.connections import RedisSettings

        pool = await create_pool(RedisSettings.from_dsn(REDIS_URL), default_queue_name=ns)
        for i in range(n):  # one at a time, like the Dramatiq and Celery clients
            await pool.enqueue_job("noop", i)
        await pool.aclose()
    else:
        from celery import Celery

        app = Celery("queue_peers", broker=REDIS_URL)
        app.conf.update(task_default_queue=ns, task_ignore_result=True)
        for i in range(n):
            app.send_task("noop", args=(i,), queue=ns)
        app.close()
    publish_rate = n / (time.perf_counter() - t0)
    out = Path(tempfile.mkdtemp(prefix="b6-peer-")) / "done"
    env = {**os.environ, "BENCH_PEER": peer, "BENCH_NS": ns, "BENCH_N": str(n), "BENCH_OUT": str(out),
           "BENCH_REDIS_URL": REDIS_URL, "PYTHONPATH": str(ROOT / "bench")}
    cmd = PEER_CMDS[peer]
    if qbench.SUT_CPUS is not None:
        cmd = ["taskset", "-c", qbench.SUT_CPUS, *cmd]
    log_path = out.with_name("worker.log")  # a file, not a pipe: arq logs every job and would block on a full pipe
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT / "bench"), stdout=log_file,  # noqa: ASYNC220
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not out.exists():
            if proc.poll() is not None:
                err = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{peer} worker exited with {proc.returncode}: {err}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{peer} did not drain {n} jobs")
            await asyncio.sleep(0.05)
        t_first, t_last, c_first, c_last = (float(x) for x in out.read_text().split())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(out.parent, ignore_errors=True)
        r = Redis.from_url(REDIS_URL)
        keys = [k async for k in r.scan_iter(f"*{ns}*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
    span = max(t_last - t_first, 1e-6)
    return {"publish_per_s": round(publish_rate), "consume_per_s": round(n / span),
            "cpu_ms_per_1k": (c_last - c_first) * 1000 / n * 1000}


async def main(quick: bool) -> dict[str, Any]:
    n, pickups = (2000, 200) if quick else (20000, 1000)
    results: dict[str, Any] = {"n": n}
    redis_up, rabbit_up = service_up("127.0.0.1", 6379), service_up("127.0.0.1", 5672)
    cells: list[tuple[str, Any]] = [("pyiii sqlite (FULL)", lambda: pyiii_cell("sqlite", n, pickups)),
                                    ("pyiii sqlite (NORMAL)", lambda: pyiii_cell("sqlite-normal", n, pickups)),
                                    ("pyiii memory", lambda: pyiii_cell("memory", n, pickups))]
    if redis_up:
        cells += [("raw redis-py streams", lambda: raw_redis_cell(n, pickups)),
                  ("pyiii redis", lambda: pyiii_cell("redis", n, pickups))]
    if rabbit_up:
        cells += [("raw aio-pika", lambda: raw_rabbit_cell(n, pickups)),
                  ("pyiii rabbitmq", lambda: pyiii_cell("rabbitmq", n, pickups))]
    for name, cell in cells:
        results[name] = await cell()
        print(f"{name:24s} {results[name]}", flush=True)
    return results


# ================================================================ the run.py contract

NAME = "b6_queue"


def run(opts: Any) -> dict[str, Any]:
    import random

    import common.harness as H
    from common.cells import Rounds, target_row, targets_table, value_row

    qbench.SUT_CPUS = opts.sut_cpus
    n, pickups = opts.pick((20000, 1000), (2000, 200), (200, 20))
    redis_up, rabbit_up = service_up("127.0.0.1", 6379), service_up("127.0.0.1", 5672)
    cells_fn: dict[str, Any] = {"pyiii sqlite (FULL)": lambda: pyiii_cell("sqlite", n, pickups),
                                "pyiii sqlite (NORMAL)": lambda: pyiii_cell("sqlite-normal", n, pickups),
                                "pyiii memory": lambda: pyiii_cell("memory", n, pickups)}
    if redis_up:
        cells_fn.update({"raw redis-py streams": lambda: raw_redis_cell(n, pickups),
                         "pyiii redis": lambda: pyiii_cell("redis", n, pickups),
                         "dramatiq": lambda: peer_cell("dramatiq", n),
                         "arq": lambda: peer_cell("arq", n),
                         "celery": lambda: peer_cell("celery", n)})
    if rabbit_up:
        cells_fn.update({"raw aio-pika": lambda: raw_rabbit_cell(n, pickups),
                         "pyiii rabbitmq": lambda: pyiii_cell("rabbitmq", n, pickups)})
    rng = random.Random(opts.seed)
    rounds = Rounds()

    async def all_rounds() -> None:
        for r in range(opts.n_rounds):
            for name in H.shuffled(list(cells_fn), rng):
                res = await cells_fn[name]()
                m = {"publish_per_s": float(res["publish_per_s"]), "consume_per_s": float(res["consume_per_s"])}
                if "pickup" in res:
                    m["pickup_p50"] = res["pickup"]["p50_ms"] / 1000
                    m["pickup_p99"] = res["pickup"]["p99_ms"] / 1000
                if "cpu_ms_per_1k" in res:
                    m["cpu_ms_per_1k"] = res["cpu_ms_per_1k"]
                rounds.add(name, m)
                H.log(opts, f"  b6 round {r + 1} {name:22s} {res}")

    asyncio.run(all_rounds())
    cells = rounds.cells()
    for c in cells.values():
        c["value"] = c["consume_per_s"]["median"]
    s = rounds.series
    targets: list[dict[str, Any]] = []
    if redis_up:
        ours = s("pyiii redis", "consume_per_s")
        targets += [
            target_row("redis consume vs Dramatiq", H.ratio(ours, s("dramatiq", "consume_per_s")), 1.0, 0.7,
                       higher=True),
            target_row("redis consume vs arq", H.ratio(ours, s("arq", "consume_per_s")), 2.5, None, higher=True),
            target_row("redis consume vs Celery", H.ratio(ours, s("celery", "consume_per_s")), 2.0, None, higher=True),
            target_row("redis consume vs raw redis-py streams", H.ratio(ours, s("raw redis-py streams",
                                                                              "consume_per_s")), 0.35, None,
                       higher=True),
            target_row("redis enqueue vs Dramatiq", H.ratio(s("pyiii redis", "publish_per_s"),
                                                           s("dramatiq", "publish_per_s")), 1.0, None, higher=True),
            value_row("redis pickup p50", H.median(s("pyiii redis", "pickup_p50")), 0.005, 0.020, unit="ms",
                      scale=1000),
            value_row("redis pickup p99", H.median(s("pyiii redis", "pickup_p99")), 0.025, None, unit="ms",
                      scale=1000),
        ]
    if rabbit_up:
        targets.append(target_row("rabbitmq consume vs raw aio-pika", H.ratio(s("pyiii rabbitmq", "consume_per_s"),
                                                                              s("raw aio-pika", "consume_per_s")),
                                  0.5, None, higher=True))
    targets.append(value_row("memory adapter pickup p50", H.median(s("pyiii memory", "pickup_p50")), 0.005, 0.020,
                             unit="ms", scale=1000))
    lines = ["| system | enqueue/s | consume/s | pickup p50 | pickup p99 | CPU-ms / 1k jobs (SUT) |",
             "|---|---|---|---|---|---|"]
    for name, c in cells.items():
        p50 = f"{c['pickup_p50']['median'] * 1e3:.2f} ms" if "pickup_p50" in c else "–"
        p99 = f"{c['pickup_p99']['median'] * 1e3:.2f} ms" if "pickup_p99" in c else "–"
        cpu = f"{c['cpu_ms_per_1k']['median']:.0f}" if "cpu_ms_per_1k" in c else "–"
        lines.append(f"| {name} | {c['publish_per_s']['median']:,.0f} | {c['consume_per_s']['median']:,.0f} | "
                     f"{p50} | {p99} | {cpu} |")
    skipped = [x for x, up in (("redis", redis_up), ("rabbitmq", rabbit_up)) if not up]
    return {"cells": cells, "expected": list(cells_fn), "targets": targets, "skipped_services": skipped,
            "params": {"n": n, "pickups": pickups},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(main(args.quick))
    path = ROOT / "bench" / "results" / "b6_queue.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
