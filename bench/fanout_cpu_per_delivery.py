"""B10's pub/sub fan-out split by process: CPU per delivery of the engine and of the worker.

One engine (``python -m pyiii`` from ``--src``, with iii-pubsub, as bench/b10_fanout.py starts
it) and, in this process, one worker connection with ``--k`` functions subscribed to one topic;
``--publishes`` publishes (32 in flight, as B10) from the same connection. Printed: the engine's
and this process's utime+stime (``/proc``) over the publish phase, per delivery (K × publishes),
plus the wall time per publish. ``--worker`` picks the worker: ``qbench`` (B10's RawWorker on
``websockets``: what B10 measures) or ``picows`` (a raw picows peer that answers in the socket
callback: shows whether a faster worker would change B10's picture).

    python bench/fanout_cpu_per_delivery.py --src /work/main/src --k 128 --publishes 200
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import time
from pathlib import Path
from typing import Any

import msgspec
import picows
import qbench
import uvloop
from qbench import RawWorker, gather_windowed, start_engine

TEXT = picows.WSMsgType.TEXT
WINDOW = 32


def _cpu_s(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PicowsWorker(picows.WSListener):
    """The RawWorker's protocol on picows, answering each call inside the frame callback."""

    def __init__(self) -> None:
        self.transport: picows.WSTransport | None = None
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.delivered = 0
        self.done: asyncio.Event | None = None
        self.expected = -1
        self._ids = itertools.count(1)

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != TEXT:
            return
        msg = msgspec.json.decode(frame.get_payload_as_bytes())
        kind = msg.get("type")
        if kind == "invokefunction":
            self.delivered += 1
            if self.delivered == self.expected and self.done is not None:
                self.done.set()
            if msg.get("invocation_id"):
                transport.send(TEXT, msgspec.json.encode({
                    "type": "invocationresult", "invocation_id": msg["invocation_id"],
                    "function_id": msg["function_id"], "result": None}))
        elif kind == "invocationresult":
            fut = self.pending.pop(msg["invocation_id"], None)
            if fut is not None and not fut.done():
                error = msg.get("error")
                if error:
                    fut.set_exception(RuntimeError(f"{error.get('code')}: {error.get('message')}"))
                else:
                    fut.set_result(msg.get("result"))

    def send(self, frame: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.send(TEXT, msgspec.json.encode(frame))

    async def call(self, function_id: str, data: Any) -> Any:
        iid = f"00000000-0000-4000-8000-{next(self._ids):012x}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[iid] = fut
        self.send({"type": "invokefunction", "invocation_id": iid, "function_id": function_id, "data": data})
        return await fut


async def _wait_bindings(call: Any, function_id: str) -> None:
    for _ in range(3000):
        rows = await call("engine::registered-triggers::list", {"function_id": function_id})
        if rows["registered_triggers"]:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"bindings of {function_id} not live")


async def run_qbench(url: str, pid: int, k: int, publishes: int) -> tuple[float, float, float]:
    w = await RawWorker().connect(url)
    got = 0
    done = asyncio.Event()
    expected = -1

    async def sink(_data: Any) -> None:
        nonlocal got
        got += 1
        if got == expected:
            done.set()

    try:
        for s in range(k):
            await w.register_function(f"fan.s{s}", sink)
            await w.register_trigger("subscribe", f"fan.s{s}", {"topic": "fan"})
        await _wait_bindings(w.call, f"fan.s{k - 1}")
        for i in range(20):  # warm-up
            await w.call("publish", {"topic": "fan", "data": {"warm": i}})
        got, expected = 0, k * publishes
        return await _timed(pid, publishes, lambda i: w.call("publish", {"topic": "fan", "data": {"i": i}}),
                            done, k)
    finally:
        await w.close()


async def run_picows(url: str, pid: int, k: int, publishes: int) -> tuple[float, float, float]:
    _, w = await picows.ws_connect(PicowsWorker, url)
    assert isinstance(w, PicowsWorker)
    try:
        for s in range(k):
            w.send({"type": "registerfunction", "id": f"fan.s{s}"})
            w.send({"type": "registertrigger", "id": f"t{s}", "trigger_type": "subscribe",
                    "function_id": f"fan.s{s}", "config": {"topic": "fan"}})
        await _wait_bindings(w.call, f"fan.s{k - 1}")
        for i in range(20):
            await w.call("publish", {"topic": "fan", "data": {"warm": i}})
        w.done = asyncio.Event()
        w.delivered, w.expected = 0, k * publishes
        return await _timed(pid, publishes, lambda i: w.call("publish", {"topic": "fan", "data": {"i": i}}),
                            w.done, k)
    finally:
        assert w.transport is not None
        w.transport.disconnect()


async def _timed(pid: int, publishes: int, publish: Any, done: asyncio.Event, k: int) -> tuple[float, float, float]:
    await asyncio.sleep(0.2)  # let the warm-up's deliveries finish
    engine0, self0, t0 = _cpu_s(pid), _cpu_s("self"), time.perf_counter()
    await gather_windowed([publish(i) for i in range(publishes)], WINDOW)
    await asyncio.wait_for(done.wait(), 300)
    wall = time.perf_counter() - t0
    deliveries = k * publishes
    return ((_cpu_s(pid) - engine0) / deliveries * 1e6, (_cpu_s("self") - self0) / deliveries * 1e6,
            wall / publishes * 1e3)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="the pyiii src folder the engine runs from")
    ap.add_argument("--k", type=int, default=128)
    ap.add_argument("--publishes", type=int, default=200)
    ap.add_argument("--worker", choices=("qbench", "picows"), default="qbench")
    a = ap.parse_args()
    os.environ["PYTHONPATH"] = a.src
    qbench.SUT_CPUS = None
    engine = start_engine([{"name": "iii-pubsub"}])
    try:
        assert engine.proc is not None
        if a.worker == "qbench":  # on asyncio's own loop, as B10 runs it
            eng, own, ms = asyncio.run(run_qbench(engine.url, engine.proc.pid, a.k, a.publishes))
        else:
            eng, own, ms = uvloop.run(run_picows(engine.url, engine.proc.pid, a.k, a.publishes))
        print(f"engine {eng:.1f} us/delivery  worker {own:.1f} us/delivery  {ms:.3f} ms/publish")
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
