"""Namespaces round trip (issue #18; standalone, not one of run.py's B1-B17): the invoke round
trip with 1,000 namespaces × 10 functions registered, against one namespace with the same 10
functions. Goal: within 5 %.

Two engines side by side. On one, a single echo connection registers ``ns::fn_0..9`` in
``default``; on the other, 1,000 echo connections each name their namespace (``ns-<i>``, through
``engine::workers::register``) and register the same 10 ids in it. A caller makes serial calls to
a random id (in a random namespace, named on the call); rounds alternate the two engines.

A third engine, ``flat``, is the control in the same run: 1,000 connections in ``default``
registering distinct ids (``ns::fn_<i>-<k>``): the same 10,000 functions on the same number of
connections, in one namespace. ``ns / flat`` is what namespaces themselves cost.

Measured on the 2-core VM (docs/benchmarks.md): ns / one 1.12–1.21, ns / flat 0.95–1.13 over
three runs on 2026-12-07 — run-to-run noise of ±10 % at these p50s (≈ 300 µs); in-process a
namespaced lookup is +30 ns and its frame field +30 ns to decode.

    python bench/ns_roundtrip.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import msgspec
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import harness as H

FUNCTIONS = 10
NAMESPACES = 1_000
PAYLOAD = b'{"n":1}'


class _Frame(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None
    function_id: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    error: object = None


_decode = msgspec.json.Decoder(_Frame).decode
_encode = msgspec.json.Encoder().encode


async def _echo(ws: ClientConnection) -> None:
    """Answer every call with its payload."""
    try:
        async for raw in ws:
            f = _decode(raw)
            if f.type == "invokefunction" and f.invocation_id:
                await ws.send(b'{"type":"invocationresult","invocation_id":' + _encode(f.invocation_id)
                              + b',"function_id":' + _encode(f.function_id) + b',"result":' + f.data + b"}", text=True)
    except Exception:  # the connection closed at the end of the run
        return


async def _worker(url: str, namespace: str | None, suffix: str = "") -> tuple[ClientConnection, asyncio.Task[None]]:
    ws = await connect(url, compression=None, max_size=None, ping_interval=None)
    await ws.recv()  # workerregistered
    for i in range(FUNCTIONS):
        await ws.send(_encode({"type": "registerfunction", "id": f"ns::fn_{i}{suffix}"}), text=True)
    data = {"runtime": "bench", "pid": 1, "name": f"echo-{namespace}"}
    if namespace is not None:
        data["namespace"] = namespace
    await ws.send(_encode({"type": "invokefunction", "function_id": "engine::workers::register",
                           "action": {"type": "void"}, "data": data}), text=True)
    return ws, asyncio.ensure_future(_echo(ws))


async def _call(ws: ClientConnection, n: int, fid: str, namespace: str | None) -> float:
    frame: dict[str, object] = {"type": "invokefunction", "invocation_id": f"c{n}", "function_id": fid,
                                "data": msgspec.Raw(PAYLOAD)}
    if namespace is not None:
        frame["namespace"] = namespace
    t0 = time.perf_counter()
    await ws.send(_encode(frame), text=True)
    while True:
        reply = _decode(await ws.recv(decode=False))
        if reply.invocation_id == f"c{n}":
            if reply.error is not None:
                raise RuntimeError(f"{fid} in {namespace}: {reply.error}")
            return time.perf_counter() - t0


async def _round(ws: ClientConnection, namespaces: list[str | None], seconds: float, rng: random.Random,
                 suffixes: list[str]) -> float:
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        fid = f"ns::fn_{rng.randrange(FUNCTIONS)}{rng.choice(suffixes)}"
        samples.append(await _call(ws, n, fid, rng.choice(namespaces)))
    return statistics.median(samples)


async def _main(quick: bool) -> int:
    opts = H.RunOptions()
    rng = random.Random(18)
    kinds = ("one", "flat", "ns")
    engines = {kind: H.start_engine(opts, f"pyiii_{kind}") for kind in kinds}
    try:
        urls = {kind: f"ws://127.0.0.1:{port}/" for kind, (_proc, port) in engines.items()}
        t0 = time.perf_counter()
        workers = [await _worker(urls["one"], None)]
        for k in range(NAMESPACES):
            workers.append(await _worker(urls["flat"], None, f"-{k}"))
            workers.append(await _worker(urls["ns"], f"ns-{k}"))
        took = time.perf_counter() - t0
        print(f"ns_roundtrip: 2 × {NAMESPACES} connections × {FUNCTIONS} functions registered in {took:.1f} s")
        #: what each engine's calls name: the namespace (ns) and the id suffix (flat)
        names: dict[str, list[str | None]] = {"one": [None], "flat": [None],
                                              "ns": [f"ns-{i}" for i in range(NAMESPACES)]}
        suffixes = {"one": [""], "flat": [f"-{k}" for k in range(NAMESPACES)], "ns": [""]}
        callers = {kind: await connect(url, compression=None, ping_interval=None) for kind, url in urls.items()}
        for ws in callers.values():
            await ws.recv()
        for kind in kinds:  # warm up
            await _round(callers[kind], names[kind], 0.5, rng, suffixes[kind])
        p50: dict[str, list[float]] = {kind: [] for kind in kinds}
        for r in range(3 if quick else 7):
            for kind in rng.sample(kinds, len(kinds)):
                value = await _round(callers[kind], names[kind], 1.0 if quick else 3.0, rng, suffixes[kind])
                p50[kind].append(value)
                print(f"  round {r + 1} {kind:4s} p50={value * 1e6:6.0f} µs")
        median = {kind: statistics.median(values) for kind, values in p50.items()}
        print(f"ns_roundtrip: p50 1000 namespaces / 1 namespace with 10 functions = {median['ns'] / median['one']:.3f} "
              f"(goal ≤ 1.05)")
        print(f"ns_roundtrip: p50 1000 namespaces / 1 namespace with the same 10,000 functions on 1,000 "
              f"connections = {median['ns'] / median['flat']:.3f} (what namespaces themselves cost)")
        for ws in callers.values():
            await ws.close()
        for ws, task in workers:
            task.cancel()
            await ws.close()
        return 0
    finally:
        for proc, _port in engines.values():
            H.stop(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    return asyncio.run(_main(a.quick))


if __name__ == "__main__":
    raise SystemExit(main())
