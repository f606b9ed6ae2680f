"""Engine CPU per consumed durable-queue job, read from /proc: a focused driver for comparing two
pyiii source trees on a shared machine (B6's consume phase without run.py).

One engine process (``python -m pyiii`` from ``--src``, qbench's config: the iii-queue worker on
``--adapter``, tracing off) and, in this process, qbench's RawWorker (the one B6 uses): a
``durable:subscriber`` (concurrency 64) is bound before its function exists, ``--jobs`` messages
are published, then the function is registered and the clock runs to the last handler call.
Printed: engine CPU µs per job (utime+stime), this worker's CPU µs per job, jobs/s.

    python bench/queue_cpu_per_job.py --src /work/main/src --adapter redis --jobs 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import qbench
from common.harness import cpu_ms
from qbench import RawWorker, gather_windowed, start_engine


def adapter_block(name: str) -> dict[str, Any]:
    if name == "redis":
        prefix = f"bench:cpu:{uuid.uuid4().hex[:8]}"
        return {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379", "key_prefix": prefix}}
    return {"name": name}


async def measure(adapter: str, jobs: int) -> dict[str, float]:
    engine = start_engine([{"name": "iii-queue", "config": {"adapter": adapter_block(adapter)}}])
    assert engine.proc is not None
    w = await RawWorker().connect(engine.url)
    try:
        done = asyncio.Event()
        count = 0

        async def consume(_data: Any) -> None:
            nonlocal count
            count += 1
            if count == jobs:
                done.set()

        await w.register_trigger("durable:subscriber", "cpu.consume",
                                 {"topic": "cpu", "queue_config": {"concurrency": 64}})
        await w.wait_bindings("cpu.consume")
        await gather_windowed([w.call("iii::durable::publish", {"topic": "cpu", "data": {"i": i}})
                               for i in range(jobs)], 256)
        engine_before, own_before = cpu_ms([engine.proc.pid]), time.process_time()
        t0 = time.perf_counter()
        await w.register_function("cpu.consume", consume)
        await asyncio.wait_for(done.wait(), 600)
        wall = time.perf_counter() - t0
        return {"engine_us_per_job": round((cpu_ms([engine.proc.pid]) - engine_before) / jobs * 1000, 1),
                "worker_us_per_job": round((time.process_time() - own_before) / jobs * 1e6, 1),
                "jobs_per_s": round(jobs / wall)}
    finally:
        await w.close()
        engine.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="the pyiii src folder the engine runs from")
    ap.add_argument("--adapter", default="redis", choices=("redis", "memory"))
    ap.add_argument("--jobs", type=int, default=20000)
    a = ap.parse_args()
    os.environ["PYTHONPATH"] = os.path.abspath(a.src)  # the engine subprocess imports pyiii from here
    qbench.SUT_CPUS = None
    print(json.dumps(asyncio.run(measure(a.adapter, a.jobs))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
