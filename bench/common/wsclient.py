"""The load generator's WebSocket client, identical for every SUT (engine, relay, raw echo):
one connection, ``inflight`` calls outstanding (closed loop), ``msgspec`` for JSON.

Two interchangeable implementations of the loop: ``picows`` (Cython, callback based; the default
when installed, because a ``websockets`` client saturates its CPU near 7,000 calls/s, below what
the SUTs can do at 64 in flight) and raw ``websockets`` (``--client websockets``). Helpers
(readiness probes, registration timing) always use ``websockets``.

The raw echo server sends the ``invokefunction`` frame back unchanged; the engine and the relay
answer with an ``invocationresult``. Both carry ``invocation_id``, which is all the client needs.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

try:
    import picows
except ImportError:  # pragma: no cover - optional
    picows = None  # type: ignore[assignment]

MAX_SIZE = 64 * 1024 * 1024


class Reply(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None
    error: Any = None


_reply_decoder = msgspec.json.Decoder(Reply)
_ids = itertools.count(1)


def new_id() -> bytes:
    """A valid, unique UUID string (cheaper than uuid4 and still a UUID for the engine)."""
    return b"00000000-0000-4000-8000-%012x" % next(_ids)


def payload_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (minimum 12): ``{"blob":"aaa..."}``."""
    filler = max(0, size - len(b'{"blob":""}'))
    return b'{"blob":"' + b"a" * filler + b'"}'


def invoke_frame(invocation_id: bytes, function_id: str, payload: bytes) -> bytes:
    return (b'{"type":"invokefunction","invocation_id":"' + invocation_id + b'","function_id":"'
            + function_id.encode() + b'","data":' + payload + b"}")


async def open_ws(url: str) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=MAX_SIZE, ping_interval=None, close_timeout=1,
                       open_timeout=10)
    sock = ws.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ws


@dataclass
class LoopStats:
    latencies: list[float] = field(default_factory=list)
    ops: int = 0
    errors: int = 0
    elapsed: float = 0.0
    measured_ops: int = 0
    measured_elapsed: float = 0.0

    @property
    def throughput(self) -> float:
        return self.measured_ops / self.measured_elapsed if self.measured_elapsed else 0.0


async def closed_loop(ws: ClientConnection, function_ids: Sequence[str], payload: bytes, *, inflight: int,
                      duration: float, warmup: float = 0.2, rng: random.Random | None = None,
                      reply_timeout: float = 10.0) -> LoopStats:
    """Keep ``inflight`` calls outstanding for ``warmup + duration`` seconds; a random function
    id of ``function_ids`` per call. Latencies and throughput exclude the warm-up."""
    rng = rng or random.Random(1)
    single = function_ids[0] if len(function_ids) == 1 else None
    sent: dict[bytes, float] = {}
    stats = LoopStats()
    perf = time.perf_counter
    t_start = perf()
    t_measure = t_start + warmup
    t_end = t_measure + duration
    measuring_ops = 0
    decode = _reply_decoder.decode

    async def send_one() -> None:
        iid = new_id()
        fid = single if single is not None else rng.choice(function_ids)
        frame = invoke_frame(iid, fid, payload)
        sent[iid] = perf()
        await ws.send(frame, text=True)

    for _ in range(inflight):
        await send_one()
    while sent:
        raw = await asyncio.wait_for(ws.recv(decode=False), reply_timeout)
        now = perf()
        reply = decode(raw)
        if reply.invocation_id is None:
            continue
        t0 = sent.pop(reply.invocation_id.encode(), None)
        if t0 is None:
            continue
        stats.ops += 1
        if reply.error is not None:
            stats.errors += 1
        if t0 >= t_measure and now <= t_end:
            stats.latencies.append(now - t0)
        if t_measure <= now <= t_end:
            measuring_ops += 1
        if now < t_end:
            await send_one()
    stats.elapsed = perf() - t_start
    stats.measured_ops = measuring_ops
    stats.measured_elapsed = duration
    stats.latencies.sort()
    return stats


async def call(ws: ClientConnection, function_id: str, payload: bytes = b"{}", timeout: float = 5.0) -> Reply:
    """One request/response on a connection nobody else reads."""
    iid = new_id()
    await ws.send(invoke_frame(iid, function_id, payload), text=True)
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(decode=False), max(0.01, deadline - time.monotonic()))
        reply = _reply_decoder.decode(raw)
        if reply.invocation_id is not None and reply.invocation_id.encode() == iid:
            return reply


async def wait_invocable(url: str, function_id: str, timeout: float = 30.0) -> None:
    """Until a call to ``function_id`` through ``url`` succeeds (the worker has registered)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            ws = await open_ws(url)
        except OSError as exc:
            last = exc
            await asyncio.sleep(0.05)
            continue
        try:
            while time.monotonic() < deadline:
                reply = await call(ws, function_id)
                if reply.error is None:
                    return
                last = reply.error
                await asyncio.sleep(0.05)
        finally:
            await ws.close()
    raise TimeoutError(f"{function_id} not invocable through {url} after {timeout}s: {last}")


# ---------------------------------------------------------------------------------- picows


class PicowsConn:
    """A picows connection running the same closed loop as :func:`closed_loop`."""

    def __init__(self) -> None:
        self.transport: Any = None
        self._state: _PicowsState | None = None

    async def closed_loop(self, function_ids: Sequence[str], payload: bytes, *, inflight: int, duration: float,
                          warmup: float = 0.2, rng: random.Random | None = None,
                          reply_timeout: float = 10.0) -> LoopStats:
        state = _PicowsState(self.transport, function_ids, payload, rng or random.Random(1), warmup, duration)
        self._state = state
        try:
            for _ in range(inflight):
                state.send_one()
            while not state.done.done():
                seen = state.stats.ops
                await asyncio.wait([state.done], timeout=reply_timeout if time.perf_counter() > state.t_end else
                                   state.t_end - time.perf_counter() + reply_timeout)
                if not state.done.done() and state.stats.ops == seen:
                    raise TimeoutError(f"no reply for {reply_timeout}s ({len(state.sent)} calls outstanding)")
        finally:
            self._state = None
        st = state.stats
        st.elapsed = time.perf_counter() - state.t_start
        st.measured_ops = state.measuring_ops
        st.measured_elapsed = duration
        st.latencies.sort()
        return st

    def on_frame(self, frame: Any) -> None:
        state = self._state
        if state is not None and frame.msg_type == picows.WSMsgType.TEXT:
            state.on_reply(frame.get_payload_as_memoryview())

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.send_close(picows.WSCloseCode.OK)
            self.transport.disconnect()


class _PicowsState:
    def __init__(self, transport: Any, function_ids: Sequence[str], payload: bytes, rng: random.Random,
                 warmup: float, duration: float) -> None:
        self.transport = transport
        self.function_ids = function_ids
        self.single = function_ids[0] if len(function_ids) == 1 else None
        self.payload = payload
        self.rng = rng
        self.sent: dict[bytes, float] = {}
        self.stats = LoopStats()
        self.t_start = time.perf_counter()
        self.t_measure = self.t_start + warmup
        self.t_end = self.t_measure + duration
        self.measuring_ops = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def send_one(self) -> None:
        iid = new_id()
        fid = self.single if self.single is not None else self.rng.choice(self.function_ids)
        frame = invoke_frame(iid, fid, self.payload)
        self.sent[iid] = time.perf_counter()
        self.transport.send(picows.WSMsgType.TEXT, frame)

    def on_reply(self, raw: memoryview) -> None:
        now = time.perf_counter()
        reply = _reply_decoder.decode(raw)
        if reply.invocation_id is None:
            return
        t0 = self.sent.pop(reply.invocation_id.encode(), None)
        if t0 is None:
            return
        st = self.stats
        st.ops += 1
        if reply.error is not None:
            st.errors += 1
        if t0 >= self.t_measure and now <= self.t_end:
            st.latencies.append(now - t0)
        if self.t_measure <= now <= self.t_end:
            self.measuring_ops += 1
        if now < self.t_end:
            self.send_one()
        elif not self.sent and not self.done.done():
            self.done.set_result(None)


async def open_picows(url: str) -> PicowsConn:
    if picows is None:
        raise RuntimeError("picows is not installed (pip install picows) — or use --client websockets")
    conn = PicowsConn()

    class Listener(picows.WSListener):
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            conn.on_frame(frame)

    # picows logs flow-control notices (pause/resume writing at 1 MB payloads) as warnings on a
    # parentless per-socket logger, i.e. through logging.lastResort.
    logging.getLogger("bench.picows").setLevel(logging.ERROR)
    if logging.lastResort is not None:
        logging.lastResort.setLevel(logging.ERROR)
    transport, _ = await picows.ws_connect(Listener, url, max_frame_size=MAX_SIZE, logger_name="bench.picows")
    sock = transport.underlying_transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.transport = transport
    return conn


Conn = ClientConnection | PicowsConn


async def open_conn(url: str, client: str) -> Conn:
    """``client``: ``picows`` or ``websockets``."""
    return await open_picows(url) if client == "picows" else await open_ws(url)


async def run_loop(conn: Conn, function_ids: Sequence[str], payload: bytes, **kw: Any) -> LoopStats:
    if isinstance(conn, PicowsConn):
        return await conn.closed_loop(function_ids, payload, **kw)
    return await closed_loop(conn, function_ids, payload, **kw)


def default_client() -> str:
    return "picows" if picows is not None else "websockets"
