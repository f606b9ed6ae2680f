"""B17 — the two WebSocket libraries head to head (issue #21: websockets -> picows).

An echo round trip between two processes on uvloop, for each library on both ends: the server is
bench/baselines/raw_echo.py (websockets) or raw_echo_picows.py (picows) on the SUT CPU; the
client is bench/common/wsclient.py on the same library, in this process on the load-generator
CPU. Closed loop on one connection with 1, 16 and 64 frames in flight (100 B text frames), plus
64 KB frames at 1 in flight (full and quick runs), interleaved and shuffled per round.

Reported per cell: p50/p99 round trip, round trips/s, and CPU per frame of each side (process
CPU time / frames the process handled; a round trip is two frames per side: one in, one out).
The rows compare picows with websockets; their goals (picows no slower and no costlier) check
the choice of library, they are not spec targets.

    python bench/b17_wslib.py [--quick|--smoke]
"""

from __future__ import annotations

import random
import sys
from typing import Any

import uvloop
from common import harness as H
from common.cells import Rounds, cv_flags, measure, target_row, targets_table
from common.wsclient import open_conn, payload_of

NAME = "b17_wslib"
LIBS = ("websockets", "picows")
SERVERS = {"websockets": "raw_echo.py", "picows": "raw_echo_picows.py"}
INFLIGHT = (1, 16, 64)
SMALL, LARGE = 100, 64 * 1024


def cell_plan(opts: H.RunOptions) -> list[tuple[str, int, int]]:
    """(cell suffix, frames in flight, payload bytes) of this mode."""
    plan = [(f"c{n}", n, SMALL) for n in opts.pick(INFLIGHT, INFLIGHT, (1, 64))]
    if not opts.smoke:
        plan.append(("64KB", 1, LARGE))
    return plan


async def _measure(opts: H.RunOptions, suts: list[H.Sut]) -> Rounds:
    rng = random.Random(opts.seed)
    duration = opts.duration(full=5.0, quick=1.5)
    conns = {sut.name: await open_conn(sut.url, sut.name) for sut in suts}
    rounds = Rounds()
    try:
        for r in range(opts.n_rounds):
            for suffix, inflight, size in H.shuffled(cell_plan(opts), rng):
                for sut in H.shuffled(suts, rng):
                    m = await measure(sut, conns[sut.name], ["echo"], payload_of(size), inflight=inflight,
                                      duration=duration, rng=rng, client_cpu=True)
                    m["server_cpu_us_per_frame"] = m.pop("cpu_ms_per_1k") / 2
                    m["client_cpu_us_per_frame"] = m.pop("client_cpu_ms_per_1k") / 2
                    rounds.add(f"{sut.name}/{suffix}", m)
                    H.log(opts, f"  b17 round {r + 1} {sut.name:10s} {suffix:5s} p50={m['p50'] * 1e6:7.0f} µs "
                                f"p99={m['p99'] * 1e6:7.0f} µs {m['throughput']:8.0f} rt/s "
                                f"cpu/frame server={m['server_cpu_us_per_frame']:.1f} µs "
                                f"client={m['client_cpu_us_per_frame']:.1f} µs")
    finally:
        for ws in conns.values():
            await ws.close()
    return rounds


def _server(opts: H.RunOptions, lib: str) -> H.Sut:
    return H.raw_echo_sut(opts, lib, SERVERS[lib])


def run(opts: H.RunOptions) -> dict[str, Any]:
    with H.suts_running([lambda lib=lib: _server(opts, lib) for lib in LIBS]) as suts:
        rounds = uvloop.run(_measure(opts, suts))
    cells = rounds.cells()
    s = rounds.series
    top = f"c{max(n for _, n, _ in cell_plan(opts))}"
    targets = [
        target_row("picows p50 (1 in flight) vs websockets", H.ratio(s("picows/c1", "p50"), s("websockets/c1", "p50")),
                   1.0, None),
        target_row(f"picows throughput ({top[1:]} in flight) vs websockets",
                   H.ratio(s(f"picows/{top}", "throughput"), s(f"websockets/{top}", "throughput")), 1.0, None,
                   higher=True),
        target_row(f"picows server CPU per frame ({top[1:]} in flight) vs websockets",
                   H.ratio(s(f"picows/{top}", "server_cpu_us_per_frame"),
                           s(f"websockets/{top}", "server_cpu_us_per_frame")), 1.0, None),
        target_row(f"picows client CPU per frame ({top[1:]} in flight) vs websockets",
                   H.ratio(s(f"picows/{top}", "client_cpu_us_per_frame"),
                           s(f"websockets/{top}", "client_cpu_us_per_frame")), 1.0, None),
    ]
    return {
        "cells": cells,
        "expected": [f"{lib}/{suffix}" for lib in LIBS for suffix, _, _ in cell_plan(opts)],
        "targets": targets,
        "cv_flags": cv_flags(cells),
        "params": {"payload_bytes": [SMALL, LARGE], "plan": cell_plan(opts), "duration_s": opts.duration(5.0, 1.5),
                   "servers": SERVERS, "client": "bench/common/wsclient.py on the server's library"},
        "table": table(cells, targets, opts),
    }


def table(cells: dict[str, Any], targets: list[dict[str, Any]], opts: H.RunOptions) -> str:
    lines = ["| library | cell | p50 | p99 | round trips/s | server CPU / frame | client CPU / frame |",
             "|---|---|---|---|---|---|---|"]
    for suffix, _, _ in cell_plan(opts):
        for lib in LIBS:
            c = cells.get(f"{lib}/{suffix}")
            if c is None:
                lines.append(f"| {lib} | {suffix} | missing | | | | |")
                continue
            lines.append(f"| {lib} | {suffix} | {H.fmt_us(c['p50']['median'])} | {H.fmt_us(c['p99']['median'])} | "
                         f"{c['throughput']['median']:,.0f} | {c['server_cpu_us_per_frame']['median']:.1f} µs | "
                         f"{c['client_cpu_us_per_frame']['median']:.1f} µs |")
    return "\n".join(lines) + "\n\n" + targets_table(targets)


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b17", *sys.argv[1:]]))
