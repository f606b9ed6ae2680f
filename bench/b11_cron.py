"""B11 — cron jitter: how late a tick fires and arrives.

J jobs fire every second for D seconds. For each tick: engine jitter = payload actual_time -
scheduled_time (when the engine called), end-to-end = arrival at the worker - scheduled_time.
Reported p50/p99 (target p99 <= 50 ms), with the in-process lock and with the Redis lock.

    python bench/b11_cron.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import datetime
from typing import Any

import qbench
from qbench import ROOT, RawWorker, ms, service_up, start_engine


async def cell(adapter: dict[str, Any], jobs: int, seconds: float) -> dict[str, Any]:
    engine = start_engine([{"name": "iii-cron", "config": {"adapter": adapter}}])
    w = await RawWorker().connect(engine.url)
    try:
        engine_jitter: list[float] = []
        arrival: list[float] = []

        async def tick(data: dict[str, Any]) -> None:
            now = time.time()
            scheduled = datetime.fromisoformat(data["scheduled_time"]).timestamp()
            engine_jitter.append(datetime.fromisoformat(data["actual_time"]).timestamp() - scheduled)
            arrival.append(now - scheduled)

        for j in range(jobs):
            await w.register_function(f"b11.job{j}", tick)
            await w.register_trigger("cron", f"b11.job{j}", {"expression": "* * * * * *"})
        await asyncio.sleep(seconds)
        return {"engine": ms(engine_jitter), "end_to_end": ms(arrival)}
    finally:
        await w.close()
        engine.stop()


async def main(quick: bool) -> dict[str, Any]:
    jobs, seconds = (20, 5.0) if quick else (100, 30.0)
    out: dict[str, Any] = {"jobs": jobs, "seconds": seconds}
    out["kv (in-process lock)"] = await cell({"name": "kv"}, jobs, seconds)
    print(out, flush=True)
    if service_up("127.0.0.1", 6379):
        out["redis lock"] = await cell({"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379",
                                                                     "key_prefix": f"bench:{uuid.uuid4().hex[:8]}"}},
                                       jobs, seconds)
        print(out["redis lock"], flush=True)
    return out


# ================================================================ the run.py contract

NAME = "b11_cron"


def run(opts: Any) -> dict[str, Any]:
    import common.harness as H
    from common.cells import targets_table, value_row

    qbench.SUT_CPUS = opts.sut_cpus
    jobs, seconds = opts.pick((100, 30.0), (20, 5.0), (5, 2.5))
    adapters: dict[str, dict[str, Any]] = {"kv": {"name": "kv"}}
    if service_up("127.0.0.1", 6379):
        adapters["redis"] = {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379",
                                                         "key_prefix": f"bench:{uuid.uuid4().hex[:8]}"}}
    cells: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for name, adapter in adapters.items():
        res = asyncio.run(cell(adapter, jobs, seconds))
        H.log(opts, f"  b11 {name:6s} {res}")
        res["value"] = res["engine"]["p99_ms"]
        if not res["engine"]["n"]:
            res["error"] = "no tick fired"
        cells[name] = res
        targets.append(value_row(f"{name} lock: engine jitter p99", res["engine"]["p99_ms"] / 1000, 0.050, 0.250,
                                 unit="ms", scale=1000))
        targets.append(value_row(f"{name} lock: end-to-end p99", res["end_to_end"]["p99_ms"] / 1000, 0.050, 0.250,
                                 unit="ms", scale=1000))
    lines = ["| lock | engine jitter p50 / p99 | end-to-end p50 / p99 | ticks |", "|---|---|---|---|"]
    for a, c in cells.items():
        lines.append(f"| {a} | {c['engine']['p50_ms']} / {c['engine']['p99_ms']} ms | {c['end_to_end']['p50_ms']} / "
                     f"{c['end_to_end']['p99_ms']} ms | {c['engine']['n']} |")
    return {"cells": cells, "expected": list(adapters), "targets": targets,
            "params": {"jobs": jobs, "seconds": seconds, "stress": "none (spec: stress-ng 80 %, 10 min)"},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    result = asyncio.run(main(parser.parse_args().quick))
    (ROOT / "bench" / "results" / "b11_cron.json").write_text(json.dumps(result, indent=2))
