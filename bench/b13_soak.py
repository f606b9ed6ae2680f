"""B13 — soak / leak (spec/benchmarks-and-faults.md §3.2).

The B2 set-up (pyiii engine + echo worker on the SUT CPU) under a paced open-loop load at 50 %
of the max rate measured first (64 in flight, closed loop), latency taken from the intended send
time. Meanwhile, every ``churn`` seconds a short-lived worker connects, registers 10 functions,
is invoked once (by a fresh caller connection) and leaves: connection and registration churn.
Each churn window records engine RSS (VmRSS), open fds, p99 and errors. After the load: an idle
phase, whose engine CPU is reported as % of one core, and the fd count at its end.

Reference = the first window after warm-up (spec: the first 10 min). Drifts = last window vs
reference. Durations (load / churn interval / idle): full 3600 / 60 / 1800 s (the documented
60-minute soak; ≈ 90 min in all), quick 40 / 5 / 10 s, smoke 6 / 2 / 2 s.

    python bench/run.py --only b13 [--quick|--smoke]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import msgspec
import uvloop
from common import harness as H
from common.cells import check_row, targets_table, value_row
from common.wsclient import invoke_frame, new_id, open_conn, open_ws, payload_of, run_loop, wait_invocable

NAME = "b13_soak"
FUNCTION = "bench::echo"


class _Reply(msgspec.Struct):
    invocation_id: str | None = None
    error: Any = None


_decode = msgspec.json.Decoder(_Reply).decode


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


async def _max_rate(url: str, client: str) -> float:
    conn = await open_conn(url, client)
    try:
        st = await run_loop(conn, [FUNCTION], payload_of(100), inflight=64, duration=1.5, warmup=0.3)
        return st.throughput
    finally:
        await conn.close()


async def _churn_once(opts: H.RunOptions, url: str, gen: int) -> None:
    # On the load generator's CPU: what is measured is the engine under connection and
    # registration churn, not the ~100 ms of CPU a Python interpreter takes to start, which on
    # the SUT CPU stalled the engine in whichever window the start fell (p99 spikes of 50-290 ms).
    proc = H.start_echo_worker(opts, url, functions=10, prefix=f"bench::churn{gen}", name=f"churn-{gen}",
                               on_loadgen_cpu=True)
    try:
        await wait_invocable(url, f"bench::churn{gen}_9", timeout=20)
    finally:
        H.stop(proc)


async def soak(opts: H.RunOptions, sut: H.Sut, load_s: float, churn_s: float, idle_s: float) -> dict[str, Any]:
    engine_pid = sut.procs[0].pid
    await wait_invocable(sut.url, FUNCTION)
    # B13_RATE=N pins the load (calls/s) instead: for comparing two trees at the same load.
    rate = float(os.environ["B13_RATE"]) if os.environ.get("B13_RATE") else 0.5 * await _max_rate(sut.url, opts.client)
    ws = await open_ws(sut.url)
    payload = payload_of(100)
    sent: dict[str, float] = {}
    window: list[float] = []
    errors = [0]
    windows: list[dict[str, float]] = []

    async def reader() -> None:
        async for raw in ws:
            r = _decode(raw)
            if r.invocation_id is None:
                continue
            t0 = sent.pop(r.invocation_id, None)
            if t0 is not None:
                window.append(time.perf_counter() - t0)
                if r.error is not None:
                    errors[0] += 1

    read_task = asyncio.create_task(reader())
    interval = 0.005
    per_tick = rate * interval
    credit = 0.0
    t_start = time.perf_counter()
    next_tick = t_start
    next_churn = t_start + churn_s
    gen = 0
    churn_task: asyncio.Task[None] | None = None
    try:
        while next_tick < t_start + load_s:
            credit += per_tick
            while credit >= 1:
                iid = new_id()
                sent[iid.decode()] = next_tick  # intended send time (no coordinated omission)
                await ws.send(invoke_frame(iid, FUNCTION, payload), text=True)
                credit -= 1
            next_tick += interval
            now = time.perf_counter()
            if now >= next_churn:
                lat = sorted(window)
                window.clear()
                windows.append({"t": now - t_start, "rss_kb": float(H.vm_rss_kb(engine_pid)),
                                "fds": float(fd_count(engine_pid)), "p99": H.percentile(lat, 99),
                                "p50": H.percentile(lat, 50), "n": float(len(lat)), "errors": float(errors[0])})
                if churn_task is None or churn_task.done():
                    if churn_task is not None:
                        churn_task.result()
                    churn_task = asyncio.create_task(_churn_once(opts, sut.url, gen))
                    gen += 1
                next_churn += churn_s
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        if churn_task is not None:
            await churn_task
        deadline = time.monotonic() + 10
        while sent and time.monotonic() < deadline:  # noqa: ASYNC110 (the reader drains ``sent``)
            await asyncio.sleep(0.01)
        lost = len(sent)
    finally:
        read_task.cancel()
        await ws.close()
    await asyncio.sleep(1.0)
    fds_after_load = fd_count(engine_pid)
    rss_after_load = H.vm_rss_kb(engine_pid)
    c0 = H.cpu_ms([engine_pid])
    await asyncio.sleep(idle_s)
    idle_cpu_pct = (H.cpu_ms([engine_pid]) - c0) / (idle_s * 1000) * 100
    sut.check_alive()
    return {"rate": rate, "windows": windows, "lost": lost, "errors": errors[0], "churned_workers": gen,
            "fds_after_load": fds_after_load, "fds_after_idle": fd_count(engine_pid), "rss_after_load": rss_after_load,
            "rss_after_idle": H.vm_rss_kb(engine_pid), "idle_cpu_pct": idle_cpu_pct,
            "peak_rss_kb": H.vm_hwm_kb(engine_pid)}


def run(opts: H.RunOptions) -> dict[str, Any]:
    load_s, churn_s, idle_s = opts.pick((3600.0, 60.0, 1800.0), (40.0, 5.0, 10.0), (6.0, 2.0, 2.0))
    with H.suts_running([lambda: H.engine_sut(opts)]) as (sut,):
        res = uvloop.run(soak(opts, sut, load_s, churn_s, idle_s))
    w = res["windows"]
    ref = w[1] if len(w) > 2 else w[0]  # the first window after warm-up
    last = w[-1]
    rss_drift = last["rss_kb"] / ref["rss_kb"] - 1 if ref["rss_kb"] else float("nan")
    p99_drift = last["p99"] / ref["p99"] - 1 if ref["p99"] else float("nan")
    fd_delta = res["fds_after_idle"] - ref["fds"]
    cell: dict[str, Any] = {**res, "value": rss_drift, "rss_drift": rss_drift, "p99_drift": p99_drift,
                            "fd_delta": fd_delta}
    if res["errors"] or res["lost"]:
        cell["error"] = f"{res['errors']} errors, {res['lost']} calls unanswered"
    targets = [
        value_row("RSS drift (last window vs first after warm-up)", rss_drift, 0.05, 0.15, unit="%", scale=100,
                  digits=1),
        value_row("p99 drift", p99_drift, 0.10, None, unit="%", scale=100, digits=1),
        check_row("fd count back to baseline ±10 after idle", abs(fd_delta) <= 10, f"{fd_delta:+.0f} fds"),
        value_row("idle CPU (% of a core)", res["idle_cpu_pct"], 0.5, 2.0, unit="%", digits=2),
    ]
    lines = ["| t (s) | RSS MB | fds | p50 | p99 | calls |", "|---|---|---|---|---|---|"]
    step = max(1, len(w) // 12)
    for x in w[::step] + ([w[-1]] if (len(w) - 1) % step else []):
        lines.append(f"| {x['t']:.0f} | {x['rss_kb'] / 1024:.1f} | {x['fds']:.0f} | {x['p50'] * 1e6:,.0f} µs | "
                     f"{x['p99'] * 1e6:,.0f} µs | {x['n']:,.0f} |")
    how = "B13_RATE" if os.environ.get("B13_RATE") else "50 % of max"
    lines.append(f"\nload {res['rate']:,.0f} calls/s ({how}) for {load_s:.0f} s, {res['churned_workers']} "
                 f"churned workers, then {idle_s:.0f} s idle.")
    return {"cells": {"soak": cell}, "expected": ["soak"], "targets": targets,
            "params": {"load_s": load_s, "churn_s": churn_s, "idle_s": idle_s},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b13", *sys.argv[1:]]))
