"""B14 — observability overhead (spec/benchmarks-and-faults.md §3, B14).

Invocation throughput caller -> engine -> pyiii.sdk echo worker -> caller (100 B payload, 64 calls
in flight on one connection) with tracing off, at 100 % and at 10 % sampling. "On" is the whole
pipeline: the caller sends a W3C traceparent (sampled flag set for the given share of traces,
as an upstream sampler would), the worker runs each call in an ``execute`` span and exports it
over /otel, the engine decodes, samples, stores (memory store, capped) and indexes it.
Also: how long a finished span takes to become queryable (``engine::traces::tree``), and engine
RSS under sustained traced load with a span cap (it must plateau).

    python bench/b14_tracing.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import websockets
from common.harness import free_port, wait_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "b14_tracing.json"
WORKER = '''
import sys, threading
from pyiii.sdk import InitOptions, register_worker
otel = {"enabled": True, "service_name": "echo"} if sys.argv[2] == "on" else None
iii = register_worker(sys.argv[1], InitOptions(worker_name="echo", otel=otel))
async def echo(data, metadata=None):
    return data
iii.register_function("bench::echo", echo)
print("READY", flush=True)
threading.Event().wait()
'''


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Stack:
    """An engine process and an echo worker process for one mode."""

    def __init__(self, mode: str, max_spans: int, cpus: str | None = None) -> None:
        pin = ["taskset", "-c", cpus] if cpus is not None else []
        self.mode = mode
        self.dir = Path(tempfile.mkdtemp(prefix="b14-"))
        self.port = free_port()
        block: dict[str, Any] = {"enabled": mode != "off", "exporter": "memory", "metrics_enabled": True,
                                 "max_spans": max_spans, "logs_console_output": False}
        config = {"workers": [{"name": "iii-worker-manager", "config": {"port": self.port, "host": "127.0.0.1"}},
                              {"name": "iii-observability", "config": block}]}
        (self.dir / "config.yaml").write_text(json.dumps(config))
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        self.engine = subprocess.Popen([*pin, sys.executable, "-m", "pyiii", "--config", "config.yaml", "--log-level",
                                        "warning"], cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_port(self.port, 15, self.engine)
        (self.dir / "worker.py").write_text(WORKER)
        self.worker = subprocess.Popen([*pin, sys.executable, str(self.dir / "worker.py"), self.url,
                                        "off" if mode == "off" else "on"],
                                       env={**env, "OTEL_ENABLED": ""}, stdout=subprocess.PIPE, text=True)
        assert self.worker.stdout is not None
        assert self.worker.stdout.readline().strip() == "READY"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for proc in (self.worker, self.engine):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class Client:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            fut = self.waiting.pop(frame.get("invocation_id", ""), None)
            if fut is not None:
                fut.set_result(frame)

    async def call(self, function_id: str, data: Any, traceparent: str | None = None) -> dict[str, Any]:
        inv = uuid.uuid4().hex
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[inv] = fut
        frame: dict[str, Any] = {"type": "invokefunction", "invocation_id": inv, "function_id": function_id,
                                 "data": data}
        if traceparent:
            frame["traceparent"] = traceparent
        await self.ws.send(json.dumps(frame))
        return await fut


def traceparent(ratio: float | None, trace_id: str | None = None) -> str | None:
    if ratio is None:
        return None
    trace_id = trace_id or os.urandom(16).hex()
    sampled = int(trace_id[16:], 16) < ratio * 2**64
    return f"00-{trace_id}-{os.urandom(8).hex()}-{'01' if sampled else '00'}"


async def wait_ready(client: Client) -> None:
    for _ in range(200):
        if "result" in await client.call("bench::echo", {}):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("echo worker not invocable")


async def throughput(url: str, ratio: float | None, seconds: float, inflight: int = 64) -> float:
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        client = Client(ws)
        await wait_ready(client)
        payload = {"blob": "x" * 84}
        done = 0
        stop_at = time.perf_counter() + seconds

        async def loop() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                await client.call("bench::echo", payload, traceparent(ratio))
                done += 1

        begin = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(inflight)))
        rate = done / (time.perf_counter() - begin)
        client.reader.cancel()
        return rate


async def visibility(url: str, samples: int) -> list[float]:
    """Seconds from a call's result to its worker span being returned by engine::traces::tree."""
    delays = []
    async with websockets.connect(url, max_size=None) as ws:
        client = Client(ws)
        await wait_ready(client)
        for _ in range(samples):
            trace_id = os.urandom(16).hex()
            await client.call("bench::echo", {}, traceparent(1.0, trace_id))
            finished = time.perf_counter()
            while True:
                tree = await client.call("engine::traces::tree", {"trace_id": trace_id})
                if tree.get("result", {}).get("roots"):
                    break
                await asyncio.sleep(0.002)
            delays.append(time.perf_counter() - finished)
        client.reader.cancel()
    return delays


async def plateau(stack: Stack, seconds: float) -> list[int]:
    """Engine RSS (KiB) every second under sustained 100 % traced load."""
    samples: list[int] = []
    task = asyncio.ensure_future(throughput(stack.url, 1.0, seconds))
    while not task.done():
        samples.append(rss_kb(stack.engine.pid))
        await asyncio.sleep(1.0)
    await task
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds, rounds = (2.0, 2) if args.quick else (5.0, 3)
    out = measure_all(seconds, rounds, 20 if args.quick else 50, 6 if args.quick else 20)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


def measure_all(seconds: float, rounds: int, n_visibility: int, plateau_s: float, cpus: str | None = None,
                order: Any = None) -> dict[str, Any]:
    modes = {"off": None, "100%": 1.0, "10%": 0.1}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    stacks: dict[str, Stack] = {}
    try:
        for m in modes:
            stacks[m] = Stack(m, max_spans=2_000, cpus=cpus)
        for r in range(rounds):
            for mode in (order(list(modes)) if order else modes):
                ratio = modes[mode]
                rate = asyncio.run(throughput(stacks[mode].url, ratio, seconds))
                rates[mode].append(rate)
                print(f"round {r + 1} {mode:5s} {rate:8.0f} calls/s", file=sys.stderr, flush=True)
        delays = asyncio.run(visibility(stacks["100%"].url, n_visibility))
        memory = asyncio.run(plateau(stacks["100%"], plateau_s))
    finally:
        for stack in stacks.values():
            stack.stop()
    med = {m: statistics.median(v) for m, v in rates.items()}
    delays.sort()
    out = {
        "calls_per_s_median": med,
        "calls_per_s_rounds": rates,
        "loss_100": 1 - med["100%"] / med["off"],
        "loss_10": 1 - med["10%"] / med["off"],
        "visibility_ms": {"p50": delays[len(delays) // 2] * 1000, "p95": delays[int(len(delays) * 0.95)] * 1000,
                          "max": delays[-1] * 1000},
        "engine_rss_kb_per_s_traced_load": memory,
    }
    return out


# ================================================================ the run.py contract

NAME = "b14_tracing"


def run(opts: Any) -> dict[str, Any]:
    import random

    import common.harness as H
    from common.cells import target_row, targets_table, value_row

    rng = random.Random(opts.seed)
    out = measure_all(opts.duration(5.0, 2.0), max(opts.n_rounds, 1), opts.pick(50, 20, 5), opts.pick(20, 6, 3),
                      cpus=opts.sut_cpus, order=lambda xs: H.shuffled(xs, rng))
    rates = out["calls_per_s_rounds"]
    cells: dict[str, Any] = {f"tracing_{m}": {"throughput": H.summarize(v), "value": H.median(v)}
                             for m, v in rates.items()}
    cells["visibility"] = {"value": out["visibility_ms"]["p50"] / 1000, **out["visibility_ms"]}
    mem = out["engine_rss_kb_per_s_traced_load"]
    half = mem[len(mem) // 2:] or mem
    growth = (max(half) - min(half)) / min(half) if half and min(half) else float("nan")
    cells["rss_plateau"] = {"value": growth, "samples_kb": mem}
    targets = [
        target_row("throughput at 100 % sampling vs off", H.ratio(rates["100%"], rates["off"]), 0.85, 0.70,
                   higher=True),
        target_row("throughput at 10 % sampling vs off", H.ratio(rates["10%"], rates["off"]), 0.95, 0.70,
                   higher=True),
        value_row("span queryable, p50", out["visibility_ms"]["p50"] / 1000, 0.200, None, unit="ms", scale=1000),
        value_row("engine RSS growth over the 2nd half of traced load (plateau)", growth, 0.05, 0.15, unit="%",
                  scale=100, digits=1),
    ]
    lines = ["| tracing | calls/s (64 in flight) |", "|---|---|"]
    for m, v in rates.items():
        lines.append(f"| {m} | {H.median(v):,.0f} |")
    return {"cells": cells, "expected": list(cells), "targets": targets,
            "params": {"max_spans": 2000, "inflight": 64}, "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    main()
