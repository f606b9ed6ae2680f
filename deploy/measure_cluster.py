"""Numbers for the sizing guide in docs/deployment.md (quick, one machine, 127.0.0.1 only).

    .venv/bin/python deploy/measure_cluster.py

Starts two engines sharing the local Redis (iii-cluster), an echo worker on engine A
(bench/common/echo_worker.py) and measures, with bench/common/wsclient.py's closed loop:
calls to the echo through A (local) and through B (proxied over Redis), 1 and 16 in flight;
then engine RSS per connected idle worker (200 connections, each registering 5 functions).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from common.wsclient import closed_loop, open_ws, wait_invocable  # noqa: E402

PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_engine(workdir: Path, prefix: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = {"workers": [
        {"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1"}},
        {"name": "iii-cluster", "config": {"redis_url": "redis://127.0.0.1:6379", "key_prefix": prefix}},
    ]}
    path = workdir / f"engine-{port}.yaml"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([PY, "-m", "pyiii", "--config", str(path), "--log-level", "warning"],
                            cwd=workdir, env={**os.environ, "OTEL_ENABLED": "false"})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("engine did not start")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def loop_stats(url: str, inflight: int, seconds: float) -> dict[str, float]:
    ws = await open_ws(url)
    try:
        stats = await closed_loop(ws, ["bench::echo"], b'{"blob":"' + b"a" * 88 + b'"}', inflight=inflight,
                                  duration=seconds, warmup=0.3)
    finally:
        await ws.close()
    p50 = stats.latencies[len(stats.latencies) // 2] if stats.latencies else 0.0
    p99 = stats.latencies[int(len(stats.latencies) * 0.99)] if stats.latencies else 0.0
    return {"calls_per_s": round(stats.throughput), "p50_us": round(p50 * 1e6), "p99_us": round(p99 * 1e6),
            "errors": stats.errors}


async def idle_workers(url: str, n: int) -> list[object]:
    conns = []
    for i in range(n):
        ws = await open_ws(url)
        for j in range(5):
            await ws.send(json.dumps({"type": "registerfunction", "id": f"idle.{i}.{j}"}), text=True)
        conns.append(ws)
    return conns


async def main() -> None:
    prefix = f"iii:measure:{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (a, port_a), (b, port_b) = start_engine(workdir, prefix), start_engine(workdir, prefix)
        url_a, url_b = f"ws://127.0.0.1:{port_a}", f"ws://127.0.0.1:{port_b}"
        echo = subprocess.Popen([PY, str(ROOT / "bench/common/echo_worker.py"), url_a])  # noqa: ASYNC220
        results: dict[str, object] = {}
        try:
            await wait_invocable(url_a, "bench::echo")
            await wait_invocable(url_b, "bench::echo")
            for inflight in (1, 16):
                results[f"local_inflight_{inflight}"] = await loop_stats(url_a, inflight, 3)
                results[f"proxied_inflight_{inflight}"] = await loop_stats(url_b, inflight, 3)
            before = rss_kb(a.pid)
            conns = await idle_workers(url_a, 200)
            await asyncio.sleep(1.5)
            after = rss_kb(a.pid)
            results["engine_rss_mb_idle"] = round(before / 1024, 1)
            results["rss_kb_per_connected_worker"] = round((after - before) / 200, 1)
            for ws in conns:
                await ws.close()  # type: ignore[attr-defined]
        finally:
            for proc in (echo, a, b):
                proc.terminate()
                proc.wait(15)
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
