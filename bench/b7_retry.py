"""B7 — retry schedule: how closely retries follow backoff_ms * 2**(n-1).

A subscriber that always fails (maxRetries 3, backoffDelayMs B) gets M messages; every attempt's
arrival time is recorded; the gap between attempt k and k+1 is compared with the schedule
(B, 2B, 4B). Reports the lateness (actual gap - scheduled gap) p50/p99 per adapter, and checks
that every message made exactly 4 attempts and reached the DLQ.

    python bench/b7_retry.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import defaultdict
from typing import Any

import qbench
from qbench import ROOT, RawWorker, ms, service_up, start_engine


def adapter_block(name: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    if name == "redis":
        return {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379", "key_prefix": f"bench:{tag}"}}
    if name == "rabbitmq":
        return {"name": "rabbitmq", "config": {"name_prefix": f"bench-{tag}",
                                               "amqp_url": "amqp://guest:guest@127.0.0.1:5672/"}}
    return {"name": name}


async def cell(adapter: str, messages: int, backoff_ms: int) -> dict[str, Any]:
    engine = start_engine([{"name": "iii-queue", "config": {"adapter": adapter_block(adapter)}}])
    w = await RawWorker().connect(engine.url)
    try:
        attempts: dict[int, list[float]] = defaultdict(list)

        async def fail(data: Any) -> None:
            attempts[data["i"]].append(time.perf_counter())
            raise RuntimeError("always fails")

        await w.register_function("b7.fail", fail)
        await w.register_trigger("durable:subscriber", "b7.fail", {
            "topic": "b7", "queue_config": {"maxRetries": 3, "backoffDelayMs": backoff_ms, "concurrency": 64}})
        await w.wait_bindings("b7.fail")
        for i in range(messages):
            await w.call("iii::durable::publish", {"topic": "b7", "data": {"i": i}})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dead = await w.call("engine::queue::topic_stats", {"topic": "b7"})
            if dead["dlq_depth"] == messages:
                break
            await asyncio.sleep(0.05)
        lateness: list[float] = []
        for times in attempts.values():
            for k in range(1, len(times)):
                lateness.append(times[k] - times[k - 1] - backoff_ms * 2 ** (k - 1) / 1000)
        exact = all(len(t) == 4 for t in attempts.values()) and len(attempts) == messages
        return {"backoff_ms": backoff_ms, "lateness": ms(lateness), "exactly_4_attempts": exact,
                "dlq": dead["dlq_depth"]}
    finally:
        await w.close()
        engine.stop()


async def main(quick: bool) -> dict[str, Any]:
    messages, backoff = (20, 100) if quick else (200, 250)
    out: dict[str, Any] = {}
    adapters = ["sqlite", "memory"]
    if service_up("127.0.0.1", 6379):
        adapters.append("redis")
    if service_up("127.0.0.1", 5672):
        adapters.append("rabbitmq")
    for adapter in adapters:
        out[adapter] = await cell(adapter, messages, backoff)
        print(f"{adapter:10s} {out[adapter]}", flush=True)
    return out


# ================================================================ the run.py contract

NAME = "b7_retry"


def run(opts: Any) -> dict[str, Any]:
    import common.harness as H
    from common.cells import check_row, targets_table, value_row

    qbench.SUT_CPUS = opts.sut_cpus
    messages, backoff = opts.pick((200, 250), (20, 100), (5, 50))
    adapters = ["sqlite", "memory"]
    if service_up("127.0.0.1", 6379):
        adapters.append("redis")
    if service_up("127.0.0.1", 5672):
        adapters.append("rabbitmq")
    cells: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for adapter in adapters:
        res = asyncio.run(cell(adapter, messages, backoff))
        H.log(opts, f"  b7 {adapter:10s} {res}")
        res["value"] = res["lateness"]["p50_ms"]
        if not res["exactly_4_attempts"] or res["dlq"] != messages:
            res["error"] = f"attempts not exactly 4 or DLQ {res['dlq']} != {messages}"
        cells[adapter] = res
        targets.append(value_row(f"{adapter}: lateness per retry p50", res["lateness"]["p50_ms"] / 1000, 0.005,
                                 None, unit="ms", scale=1000))
        targets.append(check_row(f"{adapter}: exactly N+1 attempts, all in DLQ", bool(res["exactly_4_attempts"]),
                                 f"{res['dlq']}/{messages} in DLQ"))
    lines = ["| adapter | lateness p50 | lateness p99 | exactly 4 attempts | DLQ |", "|---|---|---|---|---|"]
    for a, c in cells.items():
        lines.append(f"| {a} | {c['lateness']['p50_ms']} ms | {c['lateness']['p99_ms']} ms | "
                     f"{c['exactly_4_attempts']} | {c['dlq']} |")
    return {"cells": cells, "expected": adapters, "targets": targets,
            "params": {"messages": messages, "backoff_ms": backoff, "max_retries": 3},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    result = asyncio.run(main(parser.parse_args().quick))
    (ROOT / "bench" / "results" / "b7_retry.json").write_text(json.dumps(result, indent=2))
