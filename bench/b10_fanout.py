"""B10 — fan-out: cost of one publish as the number of subscribers grows 1 -> 128.

For each subscriber count S, one worker connection registers S functions, each subscribed to
one topic; M publishes are made (32 in flight); the clock runs until all S*M deliveries arrived.
Reported: time per publish and its growth relative to S=1 (the reference engine grows ~9x at
128), for iii-pubsub (local) and iii-queue durable topics (memory and SQLite).

    python bench/b10_fanout.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import qbench
from qbench import ROOT, RawWorker, gather_windowed, start_engine

COUNTS = (1, 8, 32, 128)


async def cell(kind: str, subscribers: int, publishes: int) -> float:
    if kind == "direct":  # the self-baseline: K direct invocations per "publish", same engine
        workers = []
        trigger, publish = "", ""
    elif kind == "pubsub":
        workers = [{"name": "iii-pubsub"}]
        trigger, publish = "subscribe", "publish"
    else:
        workers = [{"name": "iii-queue", "config": {"adapter": {"name": kind}}}]
        trigger, publish = "durable:subscriber", "iii::durable::publish"
    engine = start_engine(workers)
    w = await RawWorker().connect(engine.url)
    try:
        expected = subscribers * publishes
        got = 0
        done = asyncio.Event()

        async def sink(_data: Any) -> None:
            nonlocal got
            got += 1
            if got == expected:
                done.set()

        for s in range(subscribers):
            await w.register_function(f"b10.s{s}", sink)
            if kind == "direct":
                continue
            config: dict[str, Any] = {"topic": "b10"}
            if kind != "pubsub":
                config["queue_config"] = {"concurrency": 32}
            await w.register_trigger(trigger, f"b10.s{s}", config)
        if kind == "direct":
            await w.call(f"b10.s{subscribers - 1}", {"warm": 1})
            got = 0

            async def fan(i: int) -> None:
                await asyncio.gather(*(w.call(f"b10.s{s}", {"i": i}) for s in range(subscribers)))

            t0 = time.perf_counter()
            await gather_windowed([fan(i) for i in range(publishes)], 32)
            await asyncio.wait_for(done.wait(), 300)
            return (time.perf_counter() - t0) / publishes
        await w.wait_bindings(f"b10.s{subscribers - 1}")
        t0 = time.perf_counter()
        await gather_windowed([w.call(publish, {"topic": "b10", "data": {"i": i}}) for i in range(publishes)], 32)
        await asyncio.wait_for(done.wait(), 300)
        return (time.perf_counter() - t0) / publishes
    finally:
        await w.close()
        engine.stop()


async def main(quick: bool) -> dict[str, Any]:
    publishes = 100 if quick else 1000
    out: dict[str, Any] = {}
    for kind in ("pubsub", "memory", "sqlite"):
        per = {s: await cell(kind, s, publishes) for s in COUNTS}
        out[kind] = {str(s): {"ms_per_publish": round(v * 1000, 3), "growth": round(v / per[1], 2)}
                     for s, v in per.items()}
        print(kind, out[kind], flush=True)
    return out


# ================================================================ the run.py contract

NAME = "b10_fanout"
KINDS = ("direct", "pubsub", "memory", "sqlite")


def run(opts: Any) -> dict[str, Any]:
    import random

    import common.harness as H
    from common.cells import Rounds, target_row, targets_table, value_row

    qbench.SUT_CPUS = opts.sut_cpus
    publishes = opts.pick(1000, 100, 20)
    counts = opts.pick(COUNTS, COUNTS, (1, 8))
    rng = random.Random(opts.seed)
    rounds = Rounds()
    for r in range(opts.n_rounds):
        for kind in H.shuffled(KINDS, rng):
            for k in counts:
                per = asyncio.run(cell(kind, k, publishes))
                rounds.add(f"{kind}/K{k}", {"per_publish": per})
                H.log(opts, f"  b10 round {r + 1} {kind:7s} K={k:<4d} {per * 1000:.3f} ms/publish")
    cells = rounds.cells()
    s = rounds.series
    top = counts[-1]
    for kind in KINDS:
        for k in counts:
            g = H.ratio(s(f"{kind}/K{k}", "per_publish"), s(f"{kind}/K1", "per_publish"))
            cells[f"{kind}/growth{k}"] = {**g, "value": g["ratio"]}
        for k in counts:
            cells[f"{kind}/K{k}"]["value"] = cells[f"{kind}/K{k}"]["per_publish"]["median"]

    def marginal(kind: str) -> list[float]:
        return [(a - b) / (top - 1) for a, b in zip(s(f"{kind}/K{top}", "per_publish"), s(f"{kind}/K1", "per_publish"),
                                                    strict=True)]

    targets = [
        value_row(f"pubsub growth K={top} / K=1", cells[f"pubsub/growth{top}"]["ratio"], 9.1, None, unit="×"),
        # issue #21's goal for the same ratio (the spec's 9.1 is the long-term one)
        value_row(f"#21 pubsub growth K={top} / K=1", cells[f"pubsub/growth{top}"]["ratio"], 40.0, None, unit="×"),
        value_row(f"durable (memory) growth K={top} / K=1", cells[f"memory/growth{top}"]["ratio"], 13.8, None,
                  unit="×"),
        target_row("pubsub marginal per-subscriber cost vs direct loop", H.ratio(marginal("pubsub"),
                                                                                  marginal("direct")), 1.2, 1.5),
        target_row("durable (memory) marginal per-subscriber cost vs direct loop",
                   H.ratio(marginal("memory"), marginal("direct")), 1.2, 1.5),
    ]
    lines = ["| kind | " + " | ".join(f"K={k}" for k in counts) + f" | growth K={top}/1 |",
             "|---|" + "---|" * (len(counts) + 1)]
    for kind in KINDS:
        per = " | ".join(f"{cells[f'{kind}/K{k}']['per_publish']['median'] * 1e3:.3f} ms" for k in counts)
        lines.append(f"| {kind} | {per} | {cells[f'{kind}/growth{top}']['ratio']:.2f}× |")
    plot = {"title": "B10 time per publish vs subscribers K", "xlabel": "subscribers K", "ylabel": "ms per publish",
            "logx": True, "logy": True,
            "lines": {kind: [[k, cells[f"{kind}/K{k}"]["per_publish"]["median"] * 1e3] for k in counts]
                      for kind in KINDS}}
    return {"cells": cells, "expected": [f"{kind}/K{k}" for kind in KINDS for k in counts], "targets": targets,
            "plot": plot, "params": {"publishes": publishes, "window": 32, "counts": counts},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    result = asyncio.run(main(parser.parse_args().quick))
    (ROOT / "bench" / "results" / "b10_fanout.json").write_text(json.dumps(result, indent=2))
