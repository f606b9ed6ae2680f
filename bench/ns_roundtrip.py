"""Namespaces round trip (issue #18; standalone, not one of run.py's B1-B17): the invoke round
trip with 1,000 namespaces × 10 functions registered, against one namespace with the same 10
functions. Goal: within 5 %.

Two engines side by side. On one, a single echo connection registers ``ns::fn_0..9`` in
``default``; on the other, 1,000 echo connections each name their namespace (``ns-<i>``, through
``engine::workers::register``) and register the same 10 ids in it. A caller makes serial calls to
a random id (in a random namespace, named on the call); rounds alternate the two engines.

``--control``: the 1,000 connections stay in ``default`` and register distinct ids
(``ns::fn_<i>-<k>``) instead: what 1,000 connections cost without namespaces.

Measured (7 rounds × 3 s, shared 2-core machine): namespaces 1.063, control 1.062: the 6 % is
the 1,000 connections the calls are spread over, not the namespace path (a namespaced lookup
is +30 ns, its frame field +30 ns to decode).

    python bench/ns_roundtrip.py [--quick] [--control]
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


async def _main(quick: bool, control: bool) -> int:
    opts = H.RunOptions()
    rng = random.Random(18)
    one, one_port = H.start_engine(opts, "pyiii_one_ns")
    many, many_port = H.start_engine(opts, "pyiii_1000_ns")
    try:
        one_url, many_url = f"ws://127.0.0.1:{one_port}/", f"ws://127.0.0.1:{many_port}/"
        t0 = time.perf_counter()
        workers = [await _worker(one_url, None)]
        names: list[str | None] = [None] if control else [f"ns-{i}" for i in range(NAMESPACES)]
        suffixes = {"one": [""], "many": [f"-{k}" for k in range(NAMESPACES)] if control else [""]}
        for k in range(NAMESPACES):
            workers.append(await (_worker(many_url, None, f"-{k}") if control else _worker(many_url, f"ns-{k}")))
        took = time.perf_counter() - t0
        print(f"ns_roundtrip: {NAMESPACES} namespaces × {FUNCTIONS} functions registered in {took:.1f} s")
        callers = {"one": await connect(one_url, compression=None, ping_interval=None),
                   "many": await connect(many_url, compression=None, ping_interval=None)}
        for ws in callers.values():
            await ws.recv()
        await _round(callers["one"], [None], 0.5, rng, suffixes["one"])  # warm up
        await _round(callers["many"], names, 0.5, rng, suffixes["many"])
        p50: dict[str, list[float]] = {"one": [], "many": []}
        for r in range(3 if quick else 7):
            for kind in rng.sample(["one", "many"], 2):
                value = await _round(callers[kind], [None] if kind == "one" else names, 1.0 if quick else 3.0, rng,
                                     suffixes[kind])
                p50[kind].append(value)
                print(f"  round {r + 1} {kind:4s} p50={value * 1e6:6.0f} µs")
        ratio = statistics.median(p50["many"]) / statistics.median(p50["one"])
        what = "1000 connections in default" if control else "1000 namespaces"
        print(f"ns_roundtrip: p50 {what} / 1 namespace = {ratio:.3f} (goal ≤ 1.05)")
        for ws in callers.values():
            await ws.close()
        for ws, task in workers:
            task.cancel()
            await ws.close()
        return 0
    finally:
        H.stop(many)
        H.stop(one)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--control", action="store_true")
    a = ap.parse_args()
    return asyncio.run(_main(a.quick, a.control))


if __name__ == "__main__":
    raise SystemExit(main())
