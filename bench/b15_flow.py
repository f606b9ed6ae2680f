"""B15 — the example app's flow end to end: ``POST /orders`` → queue step (Node fraud check,
state set) → the order arrives on a WebSocket stream subscriber.

* ``latency_<mode>``: one order at a time; POST sent → stream event received (p50/p99).
* ``throughput_<mode>``: 32 orders in flight for a fixed time; completed flows per second
  (a flow completes when its stream event arrives).

``<mode>`` = steps worker in a thread of the ``pyiii dev`` process (default) or in a child process.

    python bench/b15_flow.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import harness as H

NAME = "b15_flow"
REPO = H.REPO_DIR
NODE_SDK = REPO / "tests/interop/node/node_modules"  # tests/support/node_sdk.py installs it
ORDER = {"customer": "bench", "item": "widget", "quantity": 1, "unit_price": 3.5}


def copy_example() -> Path:
    root = Path(tempfile.mkdtemp(prefix="b15-")) / "orders"
    shutil.copytree(REPO / "examples" / "orders", root,
                    ignore=shutil.ignore_patterns("node_modules", "data", "__pycache__"))
    if NODE_SDK.is_dir():
        (root / "node_modules").symlink_to(NODE_SDK)
    return root


class Flow:
    def __init__(self, base: str, stream_port: int) -> None:
        self.base = base
        self.stream_port = stream_port
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.early: dict[str, float] = {}

    async def listen(self, ws: Any) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("event", {}).get("type") != "create":
                continue
            now = time.perf_counter()
            fut = self.waiting.pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(now)
            else:
                self.early[msg.get("id")] = now

    async def one(self, client: httpx.AsyncClient) -> float:
        t0 = time.perf_counter()
        r = await client.post(f"{self.base}/orders", json=ORDER)
        order_id = r.json()["id"]
        if order_id in self.early:
            return self.early.pop(order_id) - t0
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[order_id] = fut
        return await asyncio.wait_for(fut, 15) - t0


async def measure(base: str, stream_port: int, n_latency: int, seconds: float) -> dict[str, Any]:
    flow = Flow(base, stream_port)
    async with connect(f"ws://127.0.0.1:{stream_port}/", ping_interval=None) as ws, httpx.AsyncClient(
            limits=httpx.Limits(max_connections=64)) as client:
        await ws.send(json.dumps({"type": "join", "data": {"subscriptionId": "b", "streamName": "orders",
                                                             "groupId": "all"}}))
        await ws.recv()  # sync
        listener = asyncio.create_task(flow.listen(ws))
        for _ in range(20):  # warm-up (and wait for the Node worker)
            await flow.one(client)
        latencies = sorted([await flow.one(client) for _ in range(n_latency)])
        done = 0
        deadline = time.perf_counter() + seconds

        async def loop() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await flow.one(client)
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(32)))
        elapsed = time.perf_counter() - t0
        listener.cancel()
    return {"p50": H.percentile(latencies, 50), "p99": H.percentile(latencies, 99), "n": len(latencies),
            "flows_per_s": done / elapsed}


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(1200):
            try:
                if (await client.get(f"{base}/orders/live")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError("example app did not start")


def run_mode(opts: H.RunOptions, mode: str) -> dict[str, Any]:
    project = copy_example()
    ports = {"III_PORT": H.free_port(), "HTTP_PORT": H.free_port(), "STREAMS_PORT": H.free_port()}
    env = {k: str(v) for k, v in ports.items()}
    proc = H.start(f"orders-{mode}", [sys.executable, "-m", "pyiii", "start", str(project), "--steps-in", mode],
                   cpus=opts.sut_cpus, env=env, cwd=project)
    base = f"http://127.0.0.1:{ports['HTTP_PORT']}"
    try:
        asyncio.run(wait_ready(base))
        return asyncio.run(measure(base, ports["STREAMS_PORT"], opts.pick(300, 100, 30), opts.duration(10.0, 3.0)))
    finally:
        H.stop(proc)
        shutil.rmtree(project.parent, ignore_errors=True)


def run(opts: H.RunOptions) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for mode in ("thread", "process"):
        rounds = [run_mode(opts, mode) for _ in range(opts.n_rounds)]
        p99 = H.median([r["p99"] for r in rounds])
        cells[f"latency_{mode}"] = {**H.summarize([r["p50"] for r in rounds]), "p99": p99}
        cells[f"throughput_{mode}"] = H.summarize([r["flows_per_s"] for r in rounds])
    rows = ["| steps worker | flow p50 | flow p99 | flows/s (32 in flight) |", "|---|---|---|---|"]
    for mode in ("thread", "process"):
        lat, thr = cells[f"latency_{mode}"], cells[f"throughput_{mode}"]
        rows.append(f"| {mode} | {lat['median'] * 1000:.1f} ms | {lat['p99'] * 1000:.1f} ms | {thr['median']:.0f} |")
    return {"cells": cells, "expected": list(cells), "params": {"node_fraud_worker": NODE_SDK.is_dir()},
            "table": "\n".join(rows)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    print(run(H.RunOptions(quick=a.quick or a.smoke, smoke=a.smoke, profile="shared"))["table"])
