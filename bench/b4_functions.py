"""B4 — registered-functions scaling (spec/benchmarks-and-faults.md §3.2).

1. Serial round-trip p50 with N = 1, 100, 1,000, 10,000 functions registered (one engine per N,
   all running side by side, one echo worker each registering the N ids); every call targets a
   random one of the N. Self-ratio p50(N)/p50(1) per round; the relay is the floor.
2. Registration time of 1,000 functions over one WebSocket (until a frame sent after the last
   registration is answered — frames of one connection are processed in order).
3. register → invocable by another worker: worker A sends ``registerfunction``; worker B calls
   the id in a loop until it stops answering ``function_not_found``.

    python bench/b4_functions.py [--quick|--smoke]
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from typing import Any

import msgspec
import uvloop
from common import harness as H
from common.cells import Rounds, cv_flags, measure, target_row, targets_table
from common.wsclient import call, new_id, open_conn, open_ws, payload_of, wait_invocable

NAME = "b4_functions"
NS = (1, 100, 1_000, 10_000)
PREFIX = "bench::fn"
PAYLOAD = 100


def function_ids(n: int) -> list[str]:
    """Same naming as common/echo_worker.py."""
    return [PREFIX] if n == 1 else [f"{PREFIX}_{i}" for i in range(n)]


def _factories(opts: H.RunOptions) -> list[Any]:
    out: list[Any] = [lambda n=n: H.engine_sut(opts, functions=n, prefix=PREFIX, name=f"pyiii_N{n}") for n in NS]
    out.append(lambda: H.relay_sut(opts))
    return out


async def _measure(opts: H.RunOptions, suts: list[H.Sut]) -> Rounds:
    rng = random.Random(opts.seed)
    duration = opts.duration(full=4.0, quick=1.0)
    payload = payload_of(PAYLOAD)
    ids: dict[str, list[str]] = {}
    for sut in suts:
        n = sut.info.get("functions", 1) if sut.name != "relay" else 1
        ids[sut.name] = function_ids(n) if sut.name != "relay" else ["bench::echo"]
        t0 = time.perf_counter()
        await wait_invocable(sut.url, ids[sut.name][-1], timeout=60)
        H.log(opts, f"  b4 {sut.name}: {len(ids[sut.name])} function(s) invocable after "
                    f"{time.perf_counter() - t0:.2f}s")
    conns = {sut.name: await open_conn(sut.url, opts.client) for sut in suts}
    rounds = Rounds()
    try:
        for r in range(opts.n_rounds):
            for sut in H.shuffled(suts, rng):
                m = await measure(sut, conns[sut.name], ids[sut.name], payload, inflight=1, duration=duration, rng=rng)
                rounds.add(sut.name, m)
                H.log(opts, f"  b4 round {r + 1} {sut.name:12s} p50={m['p50'] * 1e6:6.0f} µs "
                            f"p99={m['p99'] * 1e6:6.0f} µs")
    finally:
        for ws in conns.values():
            await ws.close()
    return rounds


class _Frame(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None
    function_id: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    error: Any = None


_decode = msgspec.json.Decoder(_Frame).decode
_encode = msgspec.json.Encoder().encode


def _register(fid: str) -> bytes:
    return b'{"type":"registerfunction","id":' + _encode(fid) + b"}"


async def _registration_time(url: str, count: int) -> float:
    """Seconds from the first of ``count`` registerfunction frames until the engine answered a
    call sent right after the last one (so every registration has been processed)."""
    ws = await open_ws(url)
    try:
        await ws.recv(decode=False)  # workerregistered
        tag = new_id().decode()
        t0 = time.perf_counter()
        for i in range(count):
            await ws.send(_register(f"reg::{tag}::{i}"), text=True)
        reply = await call(ws, "bench::__sentinel__", timeout=30)
        elapsed = time.perf_counter() - t0
        if not (isinstance(reply.error, dict) and reply.error.get("code") == "function_not_found"):
            raise RuntimeError(f"unexpected sentinel reply: {reply}")
        return elapsed
    finally:
        await ws.close()


async def _visibility(url: str, trials: int) -> list[float]:
    """register (worker A) -> first successful call (worker B) latency, per trial."""
    a = await open_ws(url)
    b = await open_ws(url)
    await b.recv(decode=False)  # workerregistered

    async def echo() -> None:
        with contextlib.suppress(Exception):
            while True:
                f = _decode(await a.recv(decode=False))
                if f.type == "invokefunction" and f.invocation_id:
                    await a.send(b'{"type":"invocationresult","invocation_id":"' + f.invocation_id.encode()
                                 + b'","function_id":' + _encode(f.function_id) + b',"result":' + f.data + b"}",
                                 text=True)

    task = asyncio.ensure_future(echo())
    out: list[float] = []
    try:
        tag = new_id().decode()
        for k in range(trials):
            fid = f"vis::{tag}::{k}"
            t0 = time.perf_counter()
            await a.send(_register(fid), text=True)
            while True:
                reply = await call(b, fid, payload_of(PAYLOAD))
                if reply.error is None:
                    out.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() - t0 > 2.0:
                    raise TimeoutError(f"{fid} not invocable after 2 s: {reply.error}")
            await asyncio.sleep(0.002)
    finally:
        task.cancel()
        await a.close()
        await b.close()
    return sorted(out)


async def _registration(opts: H.RunOptions, sut: H.Sut) -> dict[str, Any]:
    reg = [await _registration_time(sut.url, 1_000) for _ in range(opts.pick(10, 3, 1))]
    vis = await _visibility(sut.url, opts.pick(300, 50, 10))
    return {
        "register_1000": {**H.summarize(reg), "value": H.median(reg)},
        "visible": {"p50": H.percentile(vis, 50), "p99": H.percentile(vis, 99), "max": vis[-1],
                    "samples": len(vis), "value": H.percentile(vis, 99)},
    }


def run(opts: H.RunOptions) -> dict[str, Any]:
    with H.suts_running(_factories(opts)) as suts:
        rounds = uvloop.run(_measure(opts, suts))
        reg = uvloop.run(_registration(opts, suts[0]))
    cells = rounds.cells()
    cells.update(reg)
    s = rounds.series
    base = s("pyiii_N1", "p50")
    growth = {n: H.ratio(s(f"pyiii_N{n}", "p50"), base) for n in NS[1:]}
    for n, r in growth.items():
        cells[f"ratio_N{n}"] = {**r, "value": r["ratio"]}
    r1000 = reg["register_1000"]["median"]
    vis99 = reg["visible"]["p99"]
    targets = [target_row(f"p50(N={NS[-1]:,}) / p50(N=1)", growth[NS[-1]], 1.10, 1.25)]
    return {
        "cells": cells,
        "expected": [f"pyiii_N{n}" for n in NS] + ["relay", "register_1000", "visible"]
        + [f"ratio_N{n}" for n in NS[1:]],
        "targets": targets,
        "other_targets": [
            {"name": "register 1,000 functions over one WS", "value_s": r1000, "goal_s": 0.2, "floor_s": 1.0,
             "verdict": H.verdict(r1000, 0.2, 1.0)},
            {"name": "register → invocable by another worker, p99", "value_s": vis99, "goal_s": 0.010,
             "verdict": H.verdict(vis99, 0.010)},
        ],
        "cv_flags": cv_flags(cells),
        "params": {"client": opts.client, "N": NS, "payload_bytes": PAYLOAD, "duration_s": opts.duration(4.0, 1.0),
                   "workers_per_engine": 1},
        "table": table(cells, targets, growth, reg),
    }


def table(cells: dict[str, Any], targets: list[dict[str, Any]], growth: dict[int, Any], reg: dict[str, Any]) -> str:
    lines = ["| functions registered | p50 | p99 | p50 / p50(N=1) |", "|---|---|---|---|"]
    for n in NS:
        c = cells.get(f"pyiii_N{n}")
        if c is None:
            lines.append(f"| {n:,} | missing | | |")
            continue
        g = H.fmt_ratio(growth[n]) if n in growth else "1"
        lines.append(f"| {n:,} | {H.fmt_us(c['p50']['median'])} | {H.fmt_us(c['p99']['median'])} | {g} |")
    relay = cells.get("relay")
    if relay:
        lines.append(f"| relay (floor) | {H.fmt_us(relay['p50']['median'])} | {H.fmt_us(relay['p99']['median'])} | |")
    out = "\n".join(lines) + "\n\n" + targets_table(targets)
    r = reg["register_1000"]
    v = reg["visible"]
    out += (f"\n| register 1,000 functions over one WS (median of {len(r['rounds'])}) | {r['median'] * 1e3:.1f} ms "
            f"({r['min'] * 1e3:.1f}–{r['max'] * 1e3:.1f}) | ≤ 200 ms | ≤ 1 s | {H.verdict(r['median'], 0.2, 1.0)} |")
    out += (f"\n| register → invocable by another worker (p50 {v['p50'] * 1e3:.2f} ms, {v['samples']} trials) | "
            f"p99 {v['p99'] * 1e3:.2f} ms | ≤ 10 ms | – | {H.verdict(v['p99'], 0.010)} |")
    return out


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b4", *sys.argv[1:]]))
