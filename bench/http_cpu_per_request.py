"""Engine CPU per HTTP request (B1's route -> worker function path), read from /proc: a focused
driver for comparing two pyiii source trees on a shared machine (no bench/run.py, no load
generator process, wall time not used).

One engine (``python -m pyiii`` with iii-http, tracing off, from ``--src``) and the pyiii.sdk
echo worker (bench/echo_worker_pyiii.py, same tree); in this process ``--concurrency``
keep-alive connections each send B1's ~100 B JSON POST /echo back to back. The engine's
utime+stime over ``--requests`` requests (after a warm-up) / requests = µs of engine CPU per
request; the worker's is printed too. With ``--callgrind`` the engine runs under valgrind and
its instructions per request are counted instead (``engine_kinstr``; use ~2,000 requests): slow,
but the same count on a busy machine as on an idle one, so small differences between trees show.

    python bench/http_cpu_per_request.py --src /work/main/src --concurrency 1 --requests 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import uvloop
from common.harness import http_engine_config

HERE = Path(__file__).resolve().parent

BODY = json.dumps({"message": "x" * 70, "n": 12345}).encode()  # bench/loadgen.py's body
REQUEST = (b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%b" % (len(BODY), BODY))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the engine did not start") from None
            time.sleep(0.05)


def _cpu_s(pid: int) -> tuple[float, float]:
    """(utime, stime) of ``pid`` in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class _Client(asyncio.Protocol):
    """One keep-alive connection: sends the next request when the whole answer is in."""

    def __init__(self, counter: Iterator[int], done: asyncio.Future[None]) -> None:
        self.counter, self.done, self.buf = counter, done, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._next()

    def _next(self) -> None:
        assert self.transport is not None
        if next(self.counter, None) is None:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].lower()
        if not head.startswith(b"http/1.1 200"):
            self.done.set_exception(RuntimeError(head.decode(errors="replace")))
            return
        length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        if len(self.buf) < end + 4 + length:
            return
        self.buf = self.buf[end + 4 + length:]
        self._next()


async def _run(port: int, requests: int, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    counter = iter(range(requests))
    dones = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(counter, d), "127.0.0.1", port)  # type: ignore[misc]
        dones.append(done)
    await asyncio.gather(*dones)


async def _ready(port: int) -> None:
    for _ in range(400):  # until the worker registered the route
        try:
            await asyncio.wait_for(_run(port, 1, 1), 1.0)
            return
        except (RuntimeError, OSError, TimeoutError):
            await asyncio.sleep(0.05)
    raise SystemExit("the /echo route never answered 200")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="the pyiii src folder the engine and worker run from")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--callgrind", action="store_true", help="count the engine's instructions under valgrind")
    ap.add_argument("--py-spy", metavar="FILE", help="also record the engine with py-spy (raw folded stacks)")
    a = ap.parse_args()
    ws_port, http_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": a.src, "OTEL_ENABLED": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(json.dumps(http_engine_config(ws_port, http_port)))
        grind = Path(tmp) / "callgrind.out"
        prefix = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={grind}"]
        engine_cmd = [sys.executable, "-m", "pyiii", "--config", str(config), "--log-level", "warning"]
        engine = subprocess.Popen([*(prefix if a.callgrind else []), *engine_cmd],
                                  cwd=tmp, env=env)
        worker = None
        try:
            _wait_port(ws_port, engine)
            worker = subprocess.Popen([sys.executable, str(HERE / "echo_worker_pyiii.py"), f"ws://127.0.0.1:{ws_port}"],
                                      env=env)
            uvloop.run(_ready(http_port))
            uvloop.run(_run(http_port, min(2000, a.requests), a.concurrency))  # warm-up
            spy = None
            if a.py_spy:
                spy = subprocess.Popen(["py-spy", "record", "-p", str(engine.pid), "-r", "250", "--gil", "-f", "raw",
                                        "-o", a.py_spy], stdout=subprocess.DEVNULL)
                time.sleep(1)  # py-spy attaches
            if a.callgrind:
                subprocess.run(["callgrind_control", "-i", "on", str(engine.pid)], check=True, capture_output=True)
            before = _cpu_s(engine.pid), _cpu_s(worker.pid)
            uvloop.run(_run(http_port, a.requests, a.concurrency))
            if a.callgrind:
                subprocess.run(["callgrind_control", "-i", "off", str(engine.pid)], check=True, capture_output=True)
            (eu, es), (wu, ws) = _cpu_s(engine.pid), _cpu_s(worker.pid)
            per = 1e6 / a.requests
            result = {"c": a.concurrency, "requests": a.requests,
                      "engine_us": round((eu + es - sum(before[0])) * per, 1),
                      "engine_sys_us": round((es - before[0][1]) * per, 1),
                      "worker_us": round((wu + ws - sum(before[1])) * per, 1)}
            if spy is not None:
                spy.send_signal(2)
                spy.wait(30)
        finally:
            for proc in (worker, engine):
                if proc is not None:
                    proc.terminate()
                    proc.wait(60)
        if a.callgrind:  # written when the engine exits
            totals = [line for line in grind.read_text().splitlines() if line.startswith(("summary:", "totals:"))]
            result["engine_kinstr"] = round(int(totals[-1].split()[1]) / a.requests / 1000, 1)
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
