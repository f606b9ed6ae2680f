"""Engine CPU per forwarded call, read from /proc: a focused driver for comparing two pyiii
source trees on a shared machine (no bench/run.py, no load-generator CPU in the number).

One engine process (bench/common/engine_main.py, from ``--src``), and in this process a raw
echo worker and a raw caller on picows (one connection each) running a closed loop of
``--inflight`` calls. The engine's utime+stime over ``--calls`` calls (after a warm-up) / calls
= µs of engine CPU per call. ``--style`` picks how the two raw peers write their frames:
``compact`` (``type`` first, no blanks: the engine, pyiii.sdk, the Node SDK) or ``spaced``
(``json.dumps`` defaults, ``type`` last: the official Python iii-sdk).

    python bench/engine_cpu_per_call.py --src /work/main/src --style spaced --calls 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import picows
import uvloop

TEXT = picows.WSMsgType.TEXT
FUNCTION = "bench::cpu_echo"
HERE = Path(__file__).resolve().parent


def encode(style: str, msg: dict[str, Any]) -> bytes:
    if style == "compact":
        return json.dumps(msg, separators=(",", ":")).encode()
    kind = msg.pop("type")
    return json.dumps({**msg, "type": kind}).encode()  # the official Python SDK's shape


class _Peer(picows.WSListener):
    """A raw peer: the echo worker answers every call; the caller resolves its futures."""

    def __init__(self, style: str, echo: bool) -> None:
        self.style, self.echo = style, echo
        self.transport: picows.WSTransport | None = None
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != TEXT:
            return
        msg = msgspec.json.decode(frame.get_payload_as_bytes())
        if self.echo and msg.get("type") == "invokefunction" and msg.get("invocation_id"):
            transport.send(TEXT, encode(self.style, {
                "type": "invocationresult", "invocation_id": msg["invocation_id"],
                "function_id": msg["function_id"], "result": msg.get("data")}))
        elif msg.get("type") == "invocationresult":
            fut = self.waiting.pop(msg["invocation_id"], None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    def call(self, invocation_id: str, data: Any) -> asyncio.Future[dict[str, Any]]:
        assert self.transport is not None
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[invocation_id] = fut
        self.transport.send(TEXT, encode(self.style, {
            "type": "invokefunction", "function_id": FUNCTION, "data": data, "invocation_id": invocation_id}))
        return fut


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connect(url: str, style: str, echo: bool) -> _Peer:
    _, peer = await picows.ws_connect(lambda: _Peer(style, echo), url)
    assert isinstance(peer, _Peer)
    return peer


async def _loop(caller: _Peer, calls: int, inflight: int, tag: str) -> None:
    counter = iter(range(calls))

    async def lane(n: int) -> None:
        for i in counter:
            reply = await caller.call(f"{tag}-{n}-{i}", {"i": i})
            if reply.get("error"):
                raise RuntimeError(reply["error"])

    await asyncio.gather(*(lane(n) for n in range(inflight)))


async def measure(url: str, pid: int, style: str, calls: int, inflight: int) -> float:
    worker = await _connect(url, style, echo=True)
    assert worker.transport is not None
    worker.transport.send(TEXT, encode(style, {"type": "registerfunction", "id": FUNCTION}))
    caller = await _connect(url, style, echo=False)
    for attempt in range(400):  # until the registration is applied (namespace hold)
        if not (await caller.call(f"ready-{attempt}", {})).get("error"):
            break
        await asyncio.sleep(0.025)
    await _loop(caller, min(2000, calls), inflight, "warm")
    before = _cpu_s(pid)
    await _loop(caller, calls, inflight, "run")
    used = _cpu_s(pid) - before
    for peer in (caller, worker):
        assert peer.transport is not None
        peer.transport.disconnect()
    return used / calls * 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="the pyiii src folder the engine runs from")
    ap.add_argument("--style", choices=("compact", "spaced"), default="spaced")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--inflight", type=int, default=1)
    a = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": a.src, "OTEL_ENABLED": "false"}
    engine = subprocess.Popen([sys.executable, str(HERE / "common" / "engine_main.py"), "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or engine.poll() is not None:
                    raise SystemExit("the engine did not start") from None
                time.sleep(0.05)
        us = uvloop.run(measure(f"ws://127.0.0.1:{port}", engine.pid, a.style, a.calls, a.inflight))
        print(f"{us:.1f}")
    finally:
        engine.terminate()
        engine.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
