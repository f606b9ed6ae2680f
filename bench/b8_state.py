"""B8 — state operations: the kv adapters against the raw clients they wrap, and end to end from
a worker; including 64-way contention on one key.

* adapter level (in this process): ``RedisStore`` get/set/update vs raw ``redis-py`` HGET/HSET on the
  same Redis; ``SqliteStore`` (WAL, its own thread, commit per write) vs raw ``sqlite3`` in the
  calling thread doing the same statements.
* end to end: a worker connected to a pyiii engine (iii-state on Redis / SQLite) calling
  ``state::get`` / ``state::set`` over the wire protocol (raw websockets client, one call in flight).
* contention: 64 concurrent ``increment`` updates of one key; wall time and exactness.

    python bench/b8_state.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from common.harness import TRACING_OFF, free_port, wait_port
from redis.asyncio import Redis
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pyiii.adapters.kv import RedisStore, SqliteStore  # noqa: E402
from pyiii.adapters.kv.update_ops import apply_ops, parse_ops  # noqa: E402

REDIS_URL = os.environ.get("PYIII_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
INCREMENT = parse_ops([{"type": "increment", "path": "n", "by": 1}])


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p / 100))] * 1e6 if s else float("nan")


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_us": round(pct(samples, 50), 1), "p99_us": round(pct(samples, 99), 1), "n": len(samples)}


async def timed(n: int, op: Any) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        await op(i)
        out.append(time.perf_counter() - t)
    return out


async def timed_pair(n: int, op_a: Any, op_b: Any) -> tuple[list[float], list[float]]:
    """Two operations measured call by call in alternation (A B A B ...), so that a drift of the
    machine (the scheduler, Redis sharing the load generator's CPU) hits both alike."""
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        for op, out in ((op_a, a), (op_b, b)) if i % 2 == 0 else ((op_b, b), (op_a, a)):
            t = time.perf_counter()
            await op(i)
            out.append(time.perf_counter() - t)
    return a, b


# ----------------------------------------------------------------------------- adapter level

async def redis_cells(n: int) -> dict[str, Any]:
    raw = Redis.from_url(REDIS_URL)
    store = RedisStore(REDIS_URL, "bench")
    await store.open()
    scope = f"b8-{uuid.uuid4().hex[:8]}"
    value = {"name": "x" * 64, "n": 1}
    blob = msgspec.json.encode(value)
    try:
        raw_set, adapter_set = await timed_pair(n, lambda i: raw.hset(f"bench:{scope}-raw", f"k{i % 100}", blob),
                                                lambda i: store.set(scope, f"k{i % 100}", value))
        raw_get, adapter_get = await timed_pair(n, lambda i: raw.hget(f"bench:{scope}-raw", f"k{i % 100}"),
                                                lambda i: store.get(scope, f"k{i % 100}"))
        cells = {
            "redis/raw_hset": summary(raw_set),
            "redis/adapter_set": summary(adapter_set),
            "redis/raw_hget": summary(raw_get),
            "redis/adapter_get": summary(adapter_get),
            "redis/adapter_update": summary(await timed(n, lambda i: store.update(
                scope, "counter", lambda old: apply_ops(old, INCREMENT)[0]))),
        }
        t = time.perf_counter()
        await asyncio.gather(*[store.update(scope, "hot", lambda old: apply_ops(old, INCREMENT)[0]) for _ in range(64)])
        cells["redis/contention64_ms"] = round((time.perf_counter() - t) * 1000, 2)
        cells["redis/contention64_exact"] = (await store.get(scope, "hot")) == {"n": 64}
        for k in ("get", "set"):
            ratio = cells[f"redis/adapter_{k}"]["p50_us"] / cells[f"redis/raw_h{k}"]["p50_us"]
            cells[f"redis/{k}_p50_ratio"] = round(ratio, 2)
        await raw.delete(f"bench:{scope}", f"bench:{scope}-raw")
    finally:
        await store.close()
        await raw.aclose()
    return cells


async def sqlite_cells(n: int, folder: Path) -> dict[str, Any]:
    store = SqliteStore(folder / "adapter.db", "bench")
    await store.open()
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE kv (tbl TEXT, key TEXT, value BLOB, UNIQUE (tbl, key))")
    value = {"name": "x" * 64, "n": 1}
    blob = msgspec.json.encode(value)

    async def raw_set(i: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT value FROM kv WHERE tbl=? AND key=?", ("s", f"k{i % 100}")).fetchone()
        db.execute("INSERT INTO kv VALUES (?,?,?) ON CONFLICT (tbl,key) DO UPDATE SET value=excluded.value",
                   ("s", f"k{i % 100}", blob))
        db.execute("COMMIT")

    async def raw_get(i: int) -> None:
        db.execute("SELECT value FROM kv WHERE tbl=? AND key=?", ("s", f"k{i % 100}")).fetchone()

    try:
        cells = {
            "sqlite/raw_set": summary(await timed(n, raw_set)),
            "sqlite/adapter_set": summary(await timed(n, lambda i: store.set("s", f"k{i % 100}", value))),
            "sqlite/raw_get": summary(await timed(n, raw_get)),
            "sqlite/adapter_get": summary(await timed(n, lambda i: store.get("s", f"k{i % 100}"))),
            "sqlite/adapter_update": summary(await timed(n, lambda i: store.update(
                "s", "counter", lambda old: apply_ops(old, INCREMENT)[0]))),
        }
        t = time.perf_counter()
        await asyncio.gather(*[store.update("s", "hot", lambda old: apply_ops(old, INCREMENT)[0]) for _ in range(64)])
        cells["sqlite/contention64_ms"] = round((time.perf_counter() - t) * 1000, 2)
        cells["sqlite/contention64_exact"] = (await store.get("s", "hot")) == {"n": 64}
    finally:
        await store.close()
        db.close()
    return cells


# ----------------------------------------------------------------------------- end to end

def start_engine(folder: Path, adapter: dict[str, Any],
                 cpus: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = {"workers": [{"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1"}},
                          {"name": "iii-state", "config": {"adapter": adapter}}, TRACING_OFF]}
    (folder / "config.yaml").write_text(json.dumps(config))
    pin = ["taskset", "-c", cpus] if cpus is not None else []
    proc = subprocess.Popen([*pin, sys.executable, "-m", "pyiii", "--config", str(folder / "config.yaml"),
                             "--log-level", "warning"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 15, proc)
    except (AssertionError, RuntimeError):
        proc.kill()
        raise
    return proc, port


async def e2e_cells(label: str, port: int, n: int, raw: Redis | None = None) -> dict[str, Any]:
    """``raw``: a redis-py client whose HGET is timed in alternation with ``state::get`` (the
    end-to-end Goal's baseline, measured under the same conditions)."""
    async with connect(f"ws://127.0.0.1:{port}", compression=None) as ws:
        await ws.recv()  # workerregistered
        scope = f"e2e-{uuid.uuid4().hex[:6]}"

        async def call(fid: str, data: Any) -> Any:
            iid = uuid.uuid4().hex
            await ws.send(msgspec.json.encode({"type": "invokefunction", "invocation_id": iid,
                                               "function_id": fid, "data": data}), text=True)
            while True:
                msg = msgspec.json.decode(await ws.recv(decode=False))
                if msg.get("invocation_id") == iid:
                    return msg

        value = {"name": "x" * 64, "n": 1}
        cells = {
            f"e2e_{label}/set": summary(await timed(n, lambda i: call(
                "state::set", {"scope": scope, "key": f"k{i % 100}", "value": value}))),
        }

        def get(i: int) -> Any:
            return call("state::get", {"scope": scope, "key": f"k{i % 100}"})

        if raw is None:
            cells[f"e2e_{label}/get"] = summary(await timed(n, get))
        else:
            await raw.hset(f"bench:{scope}-raw", mapping={f"k{i}": msgspec.json.encode(value) for i in range(100)})
            raw_get, e2e_get = await timed_pair(n, lambda i: raw.hget(f"bench:{scope}-raw", f"k{i % 100}"), get)
            cells[f"e2e_{label}/get"] = summary(e2e_get)
            cells[f"e2e_{label}/raw_hget_paired"] = summary(raw_get)
            await raw.delete(f"bench:{scope}-raw")
        op = {"scope": scope, "key": "hot", "ops": [{"type": "increment", "path": "n", "by": 1}]}
        t = time.perf_counter()
        ids = []
        for _ in range(64):
            iid = uuid.uuid4().hex
            ids.append(iid)
            await ws.send(msgspec.json.encode({"type": "invokefunction", "invocation_id": iid,
                                               "function_id": "state::update", "data": op}), text=True)
        pending = set(ids)
        while pending:
            pending.discard(msgspec.json.decode(await ws.recv(decode=False)).get("invocation_id"))
        cells[f"e2e_{label}/contention64_ms"] = round((time.perf_counter() - t) * 1000, 2)
        final = await call("state::get", {"scope": scope, "key": "hot"})
        cells[f"e2e_{label}/contention64_exact"] = final.get("result") == {"n": 64}
        return cells


async def main(quick: bool, n: int | None = None, cpus: str | None = None) -> dict[str, Any]:
    n = n or (300 if quick else 3000)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results.update(await sqlite_cells(n, Path(tmp)))
        results.update(await redis_cells(n))
        for label, adapter in (("sqlite", {"name": "kv", "config": {"store_method": "file_based", "file_path": "./d"}}),
                               ("redis", {"name": "redis", "config": {"redis_url": REDIS_URL}})):
            folder = Path(tmp) / label
            folder.mkdir()
            proc, port = start_engine(folder, adapter, cpus)
            raw = Redis.from_url(REDIS_URL) if label == "redis" else None
            try:
                results.update(await e2e_cells(label, port, n, raw))
            finally:
                if raw is not None:
                    await raw.aclose()
                proc.kill()
                proc.wait()
    return results


# ================================================================ the run.py contract

NAME = "b8_state"


def run(opts: Any) -> dict[str, Any]:
    import common.harness as H
    from common.cells import check_row, target_row, targets_table

    n = opts.pick(3000, 300, 50)
    per_round: list[dict[str, Any]] = []
    for r in range(opts.n_rounds):
        per_round.append(asyncio.run(main(False, n, opts.sut_cpus)))
        H.log(opts, f"  b8 round {r + 1}: " + ", ".join(f"{k}={v['p50_us']}" for k, v in per_round[-1].items()
                                                     if isinstance(v, dict)))
    cells: dict[str, Any] = {}
    for key, first in per_round[0].items():
        if isinstance(first, dict):
            cells[key] = {"p50": H.summarize([x[key]["p50_us"] / 1e6 for x in per_round]),
                          "p99": H.summarize([x[key]["p99_us"] / 1e6 for x in per_round])}
            cells[key]["value"] = cells[key]["p50"]["median"]
        elif isinstance(first, bool):
            ok = all(x[key] for x in per_round)
            cells[key] = {"value": float(ok), **({} if ok else {"error": "counter not exact"})}
        else:
            cells[key] = {"value": H.median([x[key] for x in per_round]), "rounds": [x[key] for x in per_round]}

    def p50s(key: str) -> list[float]:
        return [x[key]["p50_us"] for x in per_round]

    targets = [
        target_row("redis adapter get p50 vs raw redis-py", H.ratio(p50s("redis/adapter_get"), p50s("redis/raw_hget")),
                   2.0, 3.0),
        target_row("redis adapter set p50 vs raw redis-py", H.ratio(p50s("redis/adapter_set"), p50s("redis/raw_hset")),
                   2.0, 3.0),
        target_row("state::get end to end (redis) vs raw redis-py",
                   H.ratio(p50s("e2e_redis/get"), p50s("e2e_redis/raw_hget_paired")), 2.0, 3.0),
        check_row("64 concurrent increments exact (adapters and engine)",
                  all(cells[k]["value"] == 1.0 for k in cells if k.endswith("contention64_exact"))),
    ]
    lines = ["| cell | p50 | p99 |", "|---|---|---|"]
    for k, c in cells.items():
        if "p50" in c:
            lines.append(f"| {k} | {c['p50']['median'] * 1e6:,.0f} µs | {c['p99']['median'] * 1e6:,.0f} µs |")
        elif k.endswith("_ms"):
            lines.append(f"| {k} | {c['value']:.1f} ms | |")
    return {"cells": cells, "expected": list(cells), "targets": targets, "params": {"n": n},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    out = asyncio.run(main(args.quick))
    print(json.dumps(out, indent=2))
    target = Path(__file__).parent / "results" / "b8_state.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=2))
