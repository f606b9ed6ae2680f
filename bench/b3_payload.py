"""B3 — payload growth (spec/benchmarks-and-faults.md §3.2).

B2's serial round trip (1 call in flight) with 1 KB, 10 KB, 100 KB and 1 MB payloads through the
pyiii engine, the minimal relay and the raw echo. Growth = p50(1 MB) / p50(1 KB) per SUT and
round; target: pyiii's growth ≤ 1.2× the relay's. Then, on fresh processes, the peak-RSS cost of
16 concurrent 1 MB calls in the engine (resp. relay) process: (VmHWM after − before) / 16.

    python bench/b3_payload.py [--quick|--smoke]
"""

from __future__ import annotations

import random
import sys
from typing import Any

import uvloop
from common import harness as H
from common.cells import Rounds, cv_flags, measure, target_row, targets_table
from common.wsclient import open_conn, payload_of, run_loop, wait_invocable

NAME = "b3_payload"
SUTS = ("pyiii", "relay", "raw_echo")
SIZES = {"1KB": 1_000, "10KB": 10_000, "100KB": 100_000, "1MB": 1_000_000}
FUNCTION = "bench::echo"
RSS_INFLIGHT = 16


def _factories(opts: H.RunOptions) -> list[Any]:
    return [lambda: H.engine_sut(opts), lambda: H.relay_sut(opts), lambda: H.raw_echo_sut(opts)]


async def _measure(opts: H.RunOptions, suts: list[H.Sut]) -> Rounds:
    rng = random.Random(opts.seed)
    duration = opts.duration(full=4.0, quick=1.0)
    payloads = {name: payload_of(size) for name, size in SIZES.items()}
    for sut in suts:
        if sut.name != "raw_echo":
            await wait_invocable(sut.url, FUNCTION)
    conns = {sut.name: await open_conn(sut.url, opts.client) for sut in suts}
    rounds = Rounds()
    try:
        for r in range(opts.n_rounds):
            for size in H.shuffled(list(SIZES), rng):
                for sut in H.shuffled(suts, rng):
                    m = await measure(sut, conns[sut.name], [FUNCTION], payloads[size], inflight=1,
                                      duration=duration, rng=rng)
                    rounds.add(f"{sut.name}/{size}", m)
                    H.log(opts, f"  b3 round {r + 1} {sut.name:8s} {size:>5s} p50={m['p50'] * 1e6:8.0f} µs "
                                f"p99={m['p99'] * 1e6:8.0f} µs cpu={m['cpu_ms_per_1k']:.0f} ms/1k")
            for sut in suts:  # growth of this round
                a, b = rounds.series(f"{sut.name}/1MB", "p50")[-1], rounds.series(f"{sut.name}/1KB", "p50")[-1]
                rounds.add(f"{sut.name}/growth", {"growth": a / b})
    finally:
        for ws in conns.values():
            await ws.close()
    return rounds


async def _rss_probe(opts: H.RunOptions, sut: H.Sut) -> dict[str, Any]:
    """Peak RSS added to the engine (relay) process by RSS_INFLIGHT concurrent 1 MB calls."""
    await wait_invocable(sut.url, FUNCTION)
    conn = await open_conn(sut.url, opts.client)
    try:
        pid = sut.procs[0].pid
        await run_loop(conn, [FUNCTION], payload_of(1_000), inflight=4, duration=0.3, warmup=0.0)
        before = H.vm_hwm_kb(pid)
        st = await run_loop(conn, [FUNCTION], payload_of(1_000_000), inflight=RSS_INFLIGHT,
                            duration=opts.duration(2.0, 1.0), warmup=0.0)
        after = H.vm_hwm_kb(pid)
    finally:
        await conn.close()
    per = (after - before) / 1024 / RSS_INFLIGHT
    return {"hwm_before_kb": before, "hwm_after_kb": after, "calls": st.ops, "errors": st.errors,
            "mb_per_inflight_mb": per, "value": per}


def run(opts: H.RunOptions) -> dict[str, Any]:
    with H.suts_running(_factories(opts)) as suts:
        rounds = uvloop.run(_measure(opts, suts))
    cells = rounds.cells()
    for sut in SUTS:
        if f"{sut}/growth" in cells:
            cells[f"{sut}/growth"]["value"] = cells[f"{sut}/growth"]["growth"]["median"]
    # RSS per in-flight 1 MB, on fresh processes so that VmHWM starts from the idle footprint.
    for name, factory in (("pyiii", lambda: H.engine_sut(opts, name="pyiii-rss")),
                          ("relay", lambda: H.relay_sut(opts, name="relay-rss"))):
        with H.suts_running([factory]) as (fresh,):
            cells[f"{name}/rss_per_inflight_1MB"] = uvloop.run(_rss_probe(opts, fresh))
    s = rounds.series
    growth = H.ratio(s("pyiii/growth", "growth"), s("relay/growth", "growth"))
    rss = cells["pyiii/rss_per_inflight_1MB"]["mb_per_inflight_mb"]
    targets = [target_row("RTT growth 1 KB → 1 MB vs relay's growth", growth, 1.2, 1.5)]
    return {
        "cells": cells,
        "expected": [f"{sut}/{size}" for sut in SUTS for size in SIZES] + [f"{sut}/growth" for sut in SUTS]
        + ["pyiii/rss_per_inflight_1MB", "relay/rss_per_inflight_1MB"],
        "targets": targets,
        "rss_target": {"name": "RSS per in-flight 1 MB", "value_mb": rss, "goal_mb": 3.0,
                       "verdict": "PASS" if rss <= 3.0 else "MISS"},
        "cv_flags": cv_flags(cells),
        "params": {"client": opts.client, "sizes": SIZES, "inflight": 1, "duration_s": opts.duration(4.0, 1.0),
                   "rss_inflight": RSS_INFLIGHT},
        "table": table(cells, targets, rss),
    }


def table(cells: dict[str, Any], targets: list[dict[str, Any]], rss: float) -> str:
    lines = ["| SUT | " + " | ".join(f"p50 {s}" for s in SIZES) + " | growth 1 KB→1 MB | CPU-ms/1k @1 MB |",
             "|---|" + "---|" * (len(SIZES) + 2)]
    for sut in SUTS:
        row = [H.fmt_us(cells[f"{sut}/{s}"]["p50"]["median"]) if f"{sut}/{s}" in cells else "missing" for s in SIZES]
        g = cells.get(f"{sut}/growth")
        cpu = cells.get(f"{sut}/1MB", {}).get("cpu_ms_per_1k", {}).get("median", float("nan"))
        tail = f" | {g['value']:.1f}× | {cpu:,.0f} |" if g else " | missing | |"
        lines.append(f"| {sut} | " + " | ".join(row) + tail)
    relay_rss = cells.get("relay/rss_per_inflight_1MB", {}).get("mb_per_inflight_mb", float("nan"))
    out = "\n".join(lines) + "\n\n" + targets_table(targets)
    out += (f"\n| RSS per in-flight 1 MB call (peak, engine process; relay: {relay_rss:.1f} MB) | {rss:.1f} MB "
            f"| ≤ 3 MB | – | {'PASS' if rss <= 3.0 else 'MISS'} |")
    return out


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b3", *sys.argv[1:]]))
