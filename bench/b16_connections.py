"""B16 — connection scale & churn (spec/benchmarks-and-faults.md §3.2).

Against the pyiii engine (bench/common/engine_main.py) and two raw servers that only hold
connections, one on ``websockets`` (bench/baselines/raw_hold.py) and one on picows
(raw_hold_picows.py, issue #21's library: two more rows compare the engine with it), all on the
SUT CPU:

* ``connect``: K connections opened 16 at a time; each waits for the server's first frame
  (``workerregistered``) and sends one ``registerfunction`` — connect+handshake+register rate.
* ``idle``: with the K connections idle, (VmRSS after − before) / K = RSS per idle connection
  (fresh server processes every round).
* ``churn``: for T seconds, 8 loops of connect → register a function → disconnect; then, after
  1 s, the server's open fds against the count before (fd leak), and for the engine whether
  ``engine::functions::list`` still shows any churned function (registrations GC'd within 1 s).

K = 5,000 / 1,000 / 50 and T = 300 / 5 / 1 s (full / quick / smoke). The spec's 1,000
connects per second is the target rate; a Python client on one CPU reaches less — the achieved
rate is reported.

    python bench/run.py --only b16 [--quick|--smoke]
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import sys
import time
from typing import Any

import uvloop
from common import harness as H
from common.cells import check_row, target_row, targets_table
from common.wsclient import open_ws

NAME = "b16_connections"
SUTS = ("pyiii", "raw_ws", "raw_picows")
RAW_SCRIPTS = {"raw_ws": "raw_hold.py", "raw_picows": "raw_hold_picows.py"}


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def start(opts: H.RunOptions, name: str) -> H.Sut:
    if name == "pyiii":
        proc, port = H.start_engine(opts)
    else:
        port = H.free_port()
        proc = H.start(name, [H.PYTHON, str(H.BENCH_DIR / "baselines" / RAW_SCRIPTS[name]), "--port", str(port)],
                       cpus=opts.sut_cpus, port=port)
    return H.Sut(name, [proc], url=f"ws://127.0.0.1:{port}/", info={"port": port})


async def _connect_one(url: str, fid: str) -> Any:
    ws = await open_ws(url)
    await asyncio.wait_for(ws.recv(decode=False), 10)  # workerregistered
    await ws.send(b'{"type":"registerfunction","id":"' + fid.encode() + b'"}', text=True)
    return ws


async def _open_many(url: str, k: int, prefix: str, parallel: int = 16) -> tuple[list[Any], float]:
    conns: list[Any] = []
    sem = asyncio.Semaphore(parallel)

    async def one(i: int) -> None:
        async with sem:
            conns.append(await _connect_one(url, f"{prefix}{i}"))

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(k)))
    return conns, time.perf_counter() - t0


async def _close_all(conns: list[Any]) -> None:
    for i in range(0, len(conns), 256):
        await asyncio.gather(*(c.close() for c in conns[i:i + 256]), return_exceptions=True)


async def _churn(url: str, seconds: float, tag: str, loops: int = 8) -> int:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def loop(j: int) -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            ws = await _connect_one(url, f"b16::churn{tag}_{j}_{done}")
            await ws.close()
            done += 1

    await asyncio.gather(*(loop(j) for j in range(loops)))
    return done


async def _listed(url: str, needle: str) -> int:
    import msgspec

    ws = await open_ws(url)
    try:
        await asyncio.wait_for(ws.recv(decode=False), 10)
        iid = b"00000000-0000-4000-8000-00000000b16f"
        await ws.send(b'{"type":"invokefunction","invocation_id":"' + iid + b'","function_id":'
                      b'"engine::functions::list","data":{}}', text=True)
        while True:
            raw = await asyncio.wait_for(ws.recv(decode=False), 10)
            msg = msgspec.json.decode(raw)
            if msg.get("invocation_id") == iid.decode():
                if msg.get("error"):
                    raise RuntimeError(f"engine::functions::list: {msg['error']}")
                return raw.count(needle.encode())
    finally:
        await ws.close()


async def measure(opts: H.RunOptions, sut: H.Sut, k: int, churn_s: float, rnd: int) -> dict[str, float]:
    pid = sut.procs[0].pid
    url = sut.url
    await asyncio.sleep(0.2)
    rss0 = H.vm_rss_kb(pid)
    fd0 = fd_count(pid)
    c0 = sut.cpu_ms()
    conns, elapsed = await _open_many(url, k, f"b16::idle{rnd}_")
    c1 = sut.cpu_ms()
    await asyncio.sleep(0.5)
    rss1 = H.vm_rss_kb(pid)
    await _close_all(conns)
    await asyncio.sleep(0.5)
    c2 = sut.cpu_ms()
    churned = await _churn(url, churn_s, f"{rnd}x")
    c3 = sut.cpu_ms()
    await asyncio.sleep(1.0)
    fd1 = fd_count(pid)
    left = float(await _listed(url, f"b16::churn{rnd}x")) if sut.name == "pyiii" else 0.0
    idle_left = float(await _listed(url, f"b16::idle{rnd}_")) if sut.name == "pyiii" else 0.0
    sut.check_alive()
    return {"connect_per_s": k / elapsed, "rss_kb_per_conn": (rss1 - rss0) / k,
            "cpu_ms_per_1k_connect": (c1 - c0) / k * 1000, "churn_per_s": churned / churn_s,
            "cpu_ms_per_1k_churn": (c3 - c2) / max(churned, 1) * 1000,
            "fd_leak": float(fd1 - fd0), "left_registered": left + idle_left, "peak_rss_kb": float(H.vm_hwm_kb(pid))}


def run(opts: H.RunOptions) -> dict[str, Any]:
    _raise_nofile()
    k = opts.pick(5000, 1000, 50)
    churn_s = opts.pick(300.0, 5.0, 1.0)
    rng = random.Random(opts.seed)
    data: dict[str, dict[str, list[float]]] = {s: {} for s in SUTS}
    for r in range(opts.n_rounds):
        # Fresh servers every round: a server that already held K connections reuses the freed
        # memory, so a second round would measure ~0 KB per connection.
        with H.suts_running([lambda name=name: start(opts, name) for name in SUTS]) as suts:
            for sut in H.shuffled(suts, rng):
                m = uvloop.run(measure(opts, sut, k, churn_s, r))
                for key, v in m.items():
                    data[sut.name].setdefault(key, []).append(v)
                H.log(opts, f"  b16 round {r + 1} {sut.name:10s} " + " ".join(f"{a}={b:.1f}" for a, b in m.items()))
    cells: dict[str, Any] = {}
    for name in SUTS:
        cells[name] = {key: H.summarize(v) for key, v in data[name].items()}
        cells[name]["value"] = cells[name]["rss_kb_per_conn"]["median"]
    p, raw, pic = data["pyiii"], data["raw_ws"], data["raw_picows"]
    leak = max(p["fd_leak"])
    left = max(p["left_registered"])
    targets = [
        target_row("RSS per idle connection vs raw websockets", H.ratio(p["rss_kb_per_conn"], raw["rss_kb_per_conn"]),
                   1.5, 2.0),
        target_row("connect+handshake+register rate vs raw websockets",
                   H.ratio(p["connect_per_s"], raw["connect_per_s"]), 0.7, 0.5, higher=True),
        target_row("#21 RSS per idle connection vs raw picows", H.ratio(p["rss_kb_per_conn"], pic["rss_kb_per_conn"]),
                   1.5, 2.0),
        target_row("#21 connect+handshake+register rate vs raw picows",
                   H.ratio(p["connect_per_s"], pic["connect_per_s"]), 0.7, 0.5, higher=True),
        check_row("0 fd leak after churn", leak <= 0, f"{leak:+.0f} fds (raw: {max(raw['fd_leak']):+.0f})"),
        check_row("churned registrations GC'd within 1 s", left == 0, f"{left:.0f} left"),
    ]
    lines = ["| SUT | connects/s | RSS KB / idle conn | CPU-ms / 1k connects | churn/s | fd leak | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for name in SUTS:
        c = cells[name]
        lines.append(f"| {name} | {c['connect_per_s']['median']:,.0f} | {c['rss_kb_per_conn']['median']:.1f} | "
                     f"{c['cpu_ms_per_1k_connect']['median']:.0f} | {c['churn_per_s']['median']:,.0f} | "
                     f"{c['fd_leak']['max']:+.0f} | {c['peak_rss_kb']['max'] / 1024:.0f} MB |")
    return {"cells": cells, "expected": list(SUTS), "targets": targets,
            "params": {"connections": k, "churn_s": churn_s, "churn_loops": 8, "connect_parallel": 16},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    from run import main

    raise SystemExit(main(["--only", "b16", *sys.argv[1:]]))
