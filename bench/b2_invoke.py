"""B2 — invocation round trip over WebSocket (spec/benchmarks-and-faults.md §3.2).

caller -> SUT -> echo worker -> SUT -> caller with a 100 B payload, closed loop with 1, 16 and 64
calls in flight on one caller connection. SUTs: the pyiii engine, the minimal relay
(bench/baselines/relay.py, the "ideal engine" with the same two hops, on websockets), the same
relay on picows (bench/baselines/relay_picows.py) and the raw one-hop echo on each library
(bench/baselines/raw_echo.py, raw_echo_picows.py). The same client code (bench/common/wsclient.py) drives them all,
and the same echo worker (``--echo-worker``) sits behind the engine and both relays.

Issue #21 (websockets -> picows) adds three rows: p50 at 1 in flight <= 0.7x the websockets relay
and <= 1.3x the picows relay, throughput at 64 in flight >= 1.5x the websockets relay.

    python bench/b2_invoke.py [--quick|--smoke]
"""

from __future__ import annotations

import random
import sys
from typing import Any

import uvloop
from common import harness as H
from common.cells import Rounds, cv_flags, measure, target_row, targets_table
from common.wsclient import open_conn, payload_of, wait_invocable

NAME = "b2_invoke"
SUTS = ("pyiii", "relay", "relay_picows", "raw_echo", "raw_echo_picows")
INFLIGHT = (1, 16, 64)
PAYLOAD = 100
FUNCTION = "bench::echo"


def start_suts(opts: H.RunOptions) -> list[Any]:
    return [lambda: H.engine_sut(opts), lambda: H.relay_sut(opts),
            lambda: H.relay_sut(opts, "relay_picows", "relay_picows.py"), lambda: H.raw_echo_sut(opts),
            lambda: H.raw_echo_sut(opts, "raw_echo_picows", "raw_echo_picows.py")]


async def _measure(opts: H.RunOptions, suts: list[H.Sut]) -> Rounds:
    rng = random.Random(opts.seed)
    duration = opts.duration(full=5.0, quick=1.5)
    payload = payload_of(PAYLOAD)
    for sut in suts:
        if not sut.name.startswith("raw_echo"):
            await wait_invocable(sut.url, FUNCTION)
    conns = {sut.name: await open_conn(sut.url, opts.client) for sut in suts}
    rounds = Rounds()
    try:
        for r in range(opts.n_rounds):
            for inflight in H.shuffled(INFLIGHT, rng):
                for sut in H.shuffled(suts, rng):
                    m = await measure(sut, conns[sut.name], [FUNCTION], payload, inflight=inflight,
                                      duration=duration, rng=rng)
                    rounds.add(f"{sut.name}/c{inflight}", m)
                    H.log(opts, f"  b2 round {r + 1} {sut.name:15s} c={inflight:<3d} p50={m['p50'] * 1e6:7.0f} µs "
                                f"p99={m['p99'] * 1e6:7.0f} µs {m['throughput']:8.0f} msg/s "
                                f"cpu={m['cpu_ms_per_1k']:.0f} ms/1k")
    finally:
        for ws in conns.values():
            await ws.close()
    return rounds


def run(opts: H.RunOptions) -> dict[str, Any]:
    with H.suts_running(start_suts(opts)) as suts:
        rounds = uvloop.run(_measure(opts, suts))
    cells = rounds.cells()
    s = rounds.series
    targets = [
        target_row("p50 (1 in flight) vs relay", H.ratio(s("pyiii/c1", "p50"), s("relay/c1", "p50")), 1.3, 2.0),
        target_row("p50 (1 in flight) vs raw echo", H.ratio(s("pyiii/c1", "p50"), s("raw_echo/c1", "p50")), 2.5, None),
        target_row("throughput (64 in flight) vs relay",
                   H.ratio(s("pyiii/c64", "throughput"), s("relay/c64", "throughput")), 0.7, 0.5, higher=True),
    ]
    # issue #21: the engine on picows against the ideal engine on each library
    other = [
        target_row("#21 p50 (1 in flight) vs websockets relay",
                   H.ratio(s("pyiii/c1", "p50"), s("relay/c1", "p50")), 0.7, None),
        target_row("#21 p50 (1 in flight) vs picows relay",
                   H.ratio(s("pyiii/c1", "p50"), s("relay_picows/c1", "p50")), 1.3, None),
        target_row("#21 throughput (64 in flight) vs websockets relay",
                   H.ratio(s("pyiii/c64", "throughput"), s("relay/c64", "throughput")), 1.5, None, higher=True),
    ]
    return {
        "cells": cells,
        "expected": [f"{sut}/c{n}" for sut in SUTS for n in INFLIGHT],
        "targets": targets,
        "other_targets": other,
        "cv_flags": cv_flags(cells),
        "params": {"client": opts.client, "echo_worker": opts.echo_worker, "payload_bytes": PAYLOAD,
                   "inflight": INFLIGHT, "duration_s": opts.duration(5.0, 1.5)},
        "table": table(cells, targets + other),
    }


def table(cells: dict[str, Any], targets: list[dict[str, Any]]) -> str:
    lines = ["| SUT | in flight | p50 | p99 | msgs/s | CPU-ms / 1k calls |", "|---|---|---|---|---|---|"]
    for n in INFLIGHT:
        for sut in SUTS:
            c = cells.get(f"{sut}/c{n}")
            if c is None:
                lines.append(f"| {sut} | {n} | missing | | | |")
                continue
            lines.append(f"| {sut} | {n} | {H.fmt_us(c['p50']['median'])} | {H.fmt_us(c['p99']['median'])} | "
                         f"{c['throughput']['median']:,.0f} | {c['cpu_ms_per_1k']['median']:.0f} |")
    return "\n".join(lines) + "\n\n" + targets_table(targets)


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b2", *sys.argv[1:]]))
