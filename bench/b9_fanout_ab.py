"""A/B of B9's fan-out cell (issue #21): pyiii engines from several source trees and the raw
picows broadcast server, in alternating rounds of the same run (A B raw A B raw ...).

Per cell, as ``b9_stream.cell``: publish -> last subscriber p50/p99 over paced events, then a
burst (deliveries/s, server CPU per 1k deliveries); plus the server's CPU per 1k deliveries
during the *paced* phase, which is what one fan-out costs when nothing batches it.

    python bench/b9_fanout_ab.py A=/work/wt-base/src,B=src [--rounds 5] [--events 50] [--burst 100]
        [--subscribers 1000] [--no-raw]

SUTs on CPU 0, this process and the subscriber processes on CPU 1 (run.py's split profile).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import b9_stream as b9

METRICS = ("p50_ms", "p99_ms", "paced_cpu_ms_per_1k", "cpu_ms_per_1k", "deliveries_per_s")


async def cell(sut: b9.Sut, count: int, events: int, burst: int) -> dict[str, float]:
    assert sut.proc is not None
    pid = sut.proc.pid
    group = f"g{count}-{time.monotonic_ns()}"
    clients = await b9.Clients.start(sut, group, count)
    await asyncio.sleep(0.3)  # the joins' snapshots are out
    try:
        sent: dict[int, int] = {}
        interval = max(0.02, count / 10_000)
        await clients.arm(events)
        c0 = b9._cpu_ms(pid)
        for seq in range(events):
            sent[seq] = time.monotonic_ns()
            await sut.publish(group, seq, sent[seq])
            await asyncio.sleep(interval)
        arrivals = await clients.arrivals(60)
        paced_cpu = (b9._cpu_ms(pid) - c0) / (events * count) * 1000
        lat = sorted((arrivals[s] - sent[s]) / 1e6 for s in sent)
        await clients.arm(burst)
        c0 = b9._cpu_ms(pid)
        t = time.monotonic_ns()
        for seq in range(burst):
            await sut.publish(group, seq, 0)
        arrivals = await clients.arrivals(120)
        elapsed = (max(arrivals.values()) - t) / 1e9
        return {"p50_ms": round(lat[len(lat) // 2], 2),
                "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
                "paced_cpu_ms_per_1k": round(paced_cpu, 2),
                "cpu_ms_per_1k": round((b9._cpu_ms(pid) - c0) / (burst * count) * 1000, 2),
                "deliveries_per_s": round(burst * count / elapsed)}
    finally:
        await clients.close()


async def main(trees: dict[str, str], args: argparse.Namespace) -> None:
    b9.SUT_CPUS, b9.CLIENT_LIB = "0", "picows"
    os.sched_setaffinity(0, {1})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        suts: list[b9.Sut] = []
        for name, src in trees.items():
            os.environ["PYTHONPATH"] = src  # start_pyiii's engine runs this tree
            folder = Path(tmp) / name
            folder.mkdir()
            sut = b9.start_pyiii(folder)
            sut.name = name
            suts.append(sut)
        if not args.no_raw:
            suts.append(b9.start_raw("picows"))
        try:
            for sut in suts:
                await sut.open_publisher()
            for r in range(args.rounds):
                for sut in suts:
                    res = await cell(sut, args.subscribers, args.events, args.burst)
                    results.setdefault(sut.name, []).append(res)
                    print(f"round {r + 1} {sut.name:10s} {res}", flush=True)
        finally:
            for sut in suts:
                assert sut.proc is not None
                sut.proc.kill()
                sut.proc.wait()
    report(results, list(trees))


def report(results: dict[str, list[dict[str, float]]], trees: list[str]) -> None:
    for name, cells in results.items():
        for m in METRICS:
            values = [c[m] for c in cells]
            print(f"{name:10s} {m:20s} median {statistics.median(values):>10} rounds {values}")
    for other in trees[1:]:
        base, new = results[trees[0]], results[other]
        for m in METRICS:
            ratios = [round(y[m] / x[m], 2) for x, y in zip(base, new, strict=True) if x[m]]
            if ratios:
                print(f"{other}/{trees[0]} {m:20s} per round {ratios} median {statistics.median(ratios)}")


def parse() -> tuple[dict[str, str], argparse.Namespace]:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", help="NAME=SRC_DIR[,NAME=SRC_DIR...]: the first is the base of the ratios")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--no-raw", action="store_true", help="without the raw picows server")
    args = ap.parse_args()
    pairs = (t.split("=", 1) for t in args.trees.split(","))
    trees: dict[str, Any] = {name: os.path.abspath(src) for name, src in pairs}
    return trees, args


if __name__ == "__main__":
    trees, args = parse()
    asyncio.run(main(trees, args))
