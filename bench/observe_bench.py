"""Observers and local dispatch (issue #18; standalone, not one of run.py's B1-B17).

Three measures, each a ratio within one run (rounds alternate, medians of per-round p50s):

``unrelated``  the round trip of a call to an observed function (one observer whose filter does not
               match, so no activation) with 0, 1, 100 and 10,000 observers on *other* functions —
               four engines side by side. Goal: every p50 within 5 % of the 0-observer engine.
``activation`` a ``state::set`` that fires a ``state`` trigger, against the same ``state::set``
               observed by an observer with the same target: the time from the call to the
               target's invocation. Goal: activation p50 ≤ 1.2× trigger delivery p50.
``local``      an official iii-sdk 0.25.0 worker calling its own function: ``dispatch: "auto"``
               (in-process once the engine confirms local dispatch) against ``dispatch: "remote"``
               (through the engine), with the blocking ``trigger()`` from the main thread and with
               ``trigger_async()`` from inside a handler. Goal: remote / local ≥ 5.

Raw WebSocket clients speak the 0.25 protocol for the first two (the observing connection
declares ``observe.v1``; function hosts are pre-0.25 workers, so observers are active at once).

    python bench/observe_bench.py [--quick] [--only unrelated,activation,local]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import yaml
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import harness as H

REPO = Path(__file__).resolve().parent.parent
SDK_025 = REPO / "tests" / ".cache" / "sdks" / "0.25.0" / "bin" / "python"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


# ----------------------------------------------------------------------------- engines


def _start_engine(name: str, workers: list[dict[str, Any]]) -> tuple[H.Proc, str]:
    port = H.free_port()
    home = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    doc = {"workers": [{"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1"}},
                       H.TRACING_OFF, *workers]}
    (home / "config.yaml").write_text(yaml.safe_dump(doc))
    proc = H.start(name, [H.PYTHON, "-m", "pyiii", "--config", str(home / "config.yaml"), "--log-level", "warning"],
                   cpus=None, port=port, cwd=home)
    return proc, f"ws://127.0.0.1:{port}/"


# ----------------------------------------------------------------------------- raw clients


class Client:
    """One raw worker connection: sends frames, routes replies by invocation id, runs handlers."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.handlers: dict[str, Any] = {}
        self.observe_results: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count()
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str, name: str, features: list[str] | None = None) -> Client:
        ws = await connect(url, compression=None, max_size=None, ping_interval=None)
        await ws.recv()  # workerregistered
        client = cls(ws)
        payload: dict[str, Any] = {"runtime": "bench", "pid": 1, "name": name}
        if features is not None:
            payload["features"] = features
        await client.call("engine::workers::register", payload)
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = _decode(raw)
                kind = frame.get("type")
                if kind == "invocationresult":
                    waiter = self.waiting.pop(frame.get("invocation_id", ""), None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(frame)
                elif kind == "invokefunction":
                    handler = self.handlers.get(frame["function_id"])
                    result = handler(frame) if handler is not None else None
                    if frame.get("invocation_id"):
                        await self.ws.send(_encode({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                                    "function_id": frame["function_id"], "result": result}), text=True)
                elif kind in ("observeresult", "observerstatechanged"):
                    waiter = self.observe_results.get(frame.get("id", ""))
                    if waiter is not None and not waiter.done() and frame.get("state") != "pending":
                        waiter.set_result(frame)
        except Exception:  # closed at the end of the run
            return

    async def register(self, function_id: str, handler: Any = None) -> None:
        self.handlers[function_id] = handler or (lambda frame: frame.get("data"))
        await self.ws.send(_encode({"type": "registerfunction", "id": function_id}), text=True)

    async def call(self, function_id: str, data: Any) -> Any:
        invocation_id = f"c{next(self._ids)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[invocation_id] = waiter
        await self.ws.send(_encode({"type": "invokefunction", "invocation_id": invocation_id,
                                    "function_id": function_id, "data": data}), text=True)
        reply = await asyncio.wait_for(waiter, 30)
        if reply.get("error"):
            raise RuntimeError(f"{function_id}: {reply['error']}")
        return reply.get("result")

    async def observe(self, observer_id: str, source: dict[str, Any], target: str) -> dict[str, Any]:
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.observe_results[observer_id] = waiter
        await self.ws.send(_encode({"type": "observe", "id": observer_id, "source": source,
                                    "target": {"function_id": target}}), text=True)
        return await waiter

    async def observe_many(self, count: int, function_ids: list[str], target: str, first: int = 0) -> None:
        """``count`` observers spread over ``function_ids``, sent in bursts (their answers awaited)."""
        for start in range(first, first + count, 500):
            batch = range(start, min(first + count, start + 500))
            results = await asyncio.gather(*(
                self.observe(f"o-{i}", {"function_id": function_ids[i % len(function_ids)]}, target) for i in batch))
            bad = [r for r in results if r.get("state") != "active"]
            if bad:
                raise RuntimeError(f"observers not active: {bad[:3]}")

    async def close(self) -> None:
        self._task.cancel()
        await self.ws.close()


# ----------------------------------------------------------------------------- unrelated observers


async def _unrelated(quick: bool) -> dict[str, Any]:
    counts = [0, 1, 100, 10_000]
    others = 1_000
    engines: dict[int, tuple[H.Proc, str]] = {n: _start_engine(f"obs-{n}", []) for n in counts}
    clients: list[Client] = []
    try:
        callers: dict[int, Client] = {}
        for n, (_proc, url) in engines.items():
            host = await Client.open(url, "host")
            clients.append(host)
            await host.register("bench::f")
            await host.register("sink::t", lambda frame: None)
            for i in range(others):
                await host.register(f"other::fn_{i}")
            watcher = await Client.open(url, "watcher", ["observe.v1"])
            clients.append(watcher)
            await watcher.call("engine::functions::list", {})  # registrations applied
            # The observed function: one observer whose filter never matches (no activation).
            await watcher.observe("watched", {"function_id": "bench::f", "filters": {"input.never": {"$exists": True}}},
                                  "sink::t")
            t0 = time.perf_counter()
            # Spread over connections of 1,000 each (engine.max_observers_per_worker's default).
            for first in range(0, n, 1_000):
                bulk = await Client.open(url, f"watcher-{first}", ["observe.v1"])
                clients.append(bulk)
                await bulk.observe_many(min(1_000, n - first), [f"other::fn_{i}" for i in range(others)], "sink::t",
                                        first)
            print(f"  engine with {n:>6} unrelated observers ready ({time.perf_counter() - t0:.1f} s)")
            callers[n] = await Client.open(url, "caller")
            clients.append(callers[n])
        p50: dict[int, list[float]] = {n: [] for n in counts}
        seconds = 1.0 if quick else 3.0
        rng = random.Random(18)
        for r in range(3 if quick else 7):
            for n in rng.sample(counts, len(counts)):
                samples: list[float] = []
                deadline = time.perf_counter() + seconds
                while time.perf_counter() < deadline:
                    t = time.perf_counter()
                    await callers[n].call("bench::f", {"n": 1})
                    samples.append(time.perf_counter() - t)
                p50[n].append(statistics.median(samples))
                print(f"  round {r + 1} observers={n:>6} p50={p50[n][-1] * 1e6:6.0f} µs")
        base = statistics.median(p50[0])
        ratios = {n: statistics.median(p50[n]) / base for n in counts}
        print("unrelated: p50 / p50(0 observers): " + ", ".join(f"{n}: {v:.3f}" for n, v in ratios.items())
              + " (goal: all within 1.05)")
        return {"p50_us": {n: statistics.median(v) * 1e6 for n, v in p50.items()}, "ratio": ratios}
    finally:
        for c in clients:
            await c.close()
        for proc, _url in engines.values():
            H.stop(proc)


# ----------------------------------------------------------------------------- activation vs trigger


async def _activation(quick: bool) -> dict[str, Any]:
    state = {"name": "iii-state", "config": {"adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}}
    proc, url = _start_engine("obs-activation", [state])
    clients: list[Client] = []
    try:
        arrived: dict[str, asyncio.Future[float]] = {}

        def sink(frame: dict[str, Any]) -> None:
            waiter = arrived.pop("next", None)
            if waiter is not None and not waiter.done():
                waiter.set_result(time.perf_counter())

        host = await Client.open(url, "sink")
        clients.append(host)
        await host.register("sink::a", sink)
        await host.register("sink::b", sink)
        await host.ws.send(_encode({"type": "registertrigger", "id": "trig-a", "trigger_type": "state",
                                    "function_id": "sink::a", "config": {"scope": "bench-a"}}), text=True)
        watcher = await Client.open(url, "watcher", ["observe.v1"])
        clients.append(watcher)
        await watcher.call("engine::functions::list", {})
        result = await watcher.observe("obs-b", {"function_id": "state::set",
                                                 "filters": {"input.scope": {"$eq": "bench-b"}}}, "sink::b")
        if result.get("state") != "active":
            raise RuntimeError(f"observer on state::set: {result}")
        caller = await Client.open(url, "caller")
        clients.append(caller)

        async def one(scope: str, n: int) -> float:
            waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            arrived["next"] = waiter
            t = time.perf_counter()
            await caller.call("state::set", {"scope": scope, "key": "k", "value": n})
            return await asyncio.wait_for(waiter, 10) - t

        for scope in ("bench-a", "bench-b"):  # warm up, and prove both paths deliver
            await one(scope, 0)
        p50: dict[str, list[float]] = {"trigger": [], "activation": []}
        seconds = 1.0 if quick else 3.0
        for r in range(3 if quick else 7):
            for kind in (("trigger", "activation") if r % 2 == 0 else ("activation", "trigger")):
                scope = "bench-a" if kind == "trigger" else "bench-b"
                samples: list[float] = []
                deadline = time.perf_counter() + seconds
                n = 0
                while time.perf_counter() < deadline:
                    n += 1
                    samples.append(await one(scope, n))
                p50[kind].append(statistics.median(samples))
                print(f"  round {r + 1} {kind:10s} p50={p50[kind][-1] * 1e6:6.0f} µs")
        ratio = statistics.median(p50["activation"]) / statistics.median(p50["trigger"])
        print(f"activation: p50 activation / p50 trigger delivery = {ratio:.3f} (goal ≤ 1.2)")
        return {"p50_us": {k: statistics.median(v) * 1e6 for k, v in p50.items()}, "ratio": ratio}
    finally:
        for c in clients:
            await c.close()
        H.stop(proc)


# ----------------------------------------------------------------------------- local dispatch

_LOCAL_SCRIPT = r"""
import json, sys, time
from iii import InitOptions, register_worker
url, calls = sys.argv[1], int(sys.argv[2])
worker = register_worker(url, InitOptions(worker_name="self-caller", enable_metrics_reporting=False,
                                          otel={"enabled": False}))
async def echo(data):  # async: a sync handler would add the SDK's thread-pool hop to both paths
    return data


worker.register_function("self::echo", echo)
deadline = time.time() + 20
while True:  # wait until the engine confirmed the function (a remote call answers then)
    try:
        worker.trigger({"function_id": "self::echo", "payload": 0, "dispatch": "remote"})
        break
    except Exception:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
time.sleep(0.2)


async def drive(data):
    # From inside a handler, on the SDK's loop: what a function calling its own function costs,
    # without the caller-thread hop of the blocking trigger().
    timings = {}
    for rnd in range(data["rounds"]):
        for mode in (("auto", "remote") if rnd % 2 == 0 else ("remote", "auto")):
            t = time.perf_counter()
            for i in range(data["calls"]):
                await worker.trigger_async({"function_id": "self::echo", "payload": {"i": i}, "dispatch": mode})
            timings.setdefault(mode, []).append((time.perf_counter() - t) / data["calls"])
    return timings


worker.register_function("self::drive", drive)
rounds = int(sys.argv[3])
out = {}
for rnd in range(rounds):
    for mode in (("auto", "remote") if rnd % 2 == 0 else ("remote", "auto")):
        t = time.perf_counter()
        for i in range(calls):
            worker.trigger({"function_id": "self::echo", "payload": {"i": i}, "dispatch": mode})
        out.setdefault(mode, []).append((time.perf_counter() - t) / calls)
time.sleep(0.2)
inner = worker.trigger({"function_id": "self::drive", "payload": {"calls": calls, "rounds": rounds},
                        "dispatch": "remote", "timeout_ms": 600000})
print(json.dumps({"blocking": out, "in_handler": inner}))
worker.shutdown()
"""


def _local(quick: bool) -> dict[str, Any]:
    if not SDK_025.exists():
        print(f"local: SKIPPED — {SDK_025} is missing (pytest tests/interop/test_sdk_matrix.py installs it)")
        return {"skipped": True}
    proc, url = _start_engine("obs-local", [])
    try:
        run = subprocess.run([str(SDK_025), "-c", _LOCAL_SCRIPT, url.rstrip("/"), "500" if quick else "2000",
                              "3" if quick else "7"], capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-2000:])
        measured = json.loads(run.stdout.strip().splitlines()[-1])
        results: dict[str, Any] = {}
        for where, per_call in measured.items():
            local, remote = statistics.median(per_call["auto"]), statistics.median(per_call["remote"])
            ratio = remote / local
            print(f"local ({where}): self-call {local * 1e6:.0f} µs in-process, {remote * 1e6:.0f} µs through the "
                  f"engine: remote/local = {ratio:.1f} (goal ≥ 5)")
            results[where] = {"local_us": local * 1e6, "remote_us": remote * 1e6, "ratio": ratio}
        return results
    finally:
        H.stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="unrelated,activation,local")
    a = ap.parse_args()
    chosen = set(a.only.split(","))
    results: dict[str, Any] = {}
    if "unrelated" in chosen:
        results["unrelated"] = asyncio.run(_unrelated(a.quick))
    if "activation" in chosen:
        results["activation"] = asyncio.run(_activation(a.quick))
    if "local" in chosen:
        results["local"] = _local(a.quick)
    print(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
