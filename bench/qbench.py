"""Shared by B6/B7/B10/B11: start an engine process, and a minimal raw-protocol worker (no SDK
overhead in the numbers: the engine and its adapters are what is measured)."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from common.harness import TRACING_OFF
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from common.ws_batch import can_write_now, wait_writable, write_text_frames  # noqa: E402
from tests.support.engine import EngineProcess, wait_port  # noqa: E402

Handler = Callable[[Any], Awaitable[Any]]
_ids = itertools.count(1)


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else float("nan")


def ms(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(pct(samples, 50) * 1000, 2), "p99_ms": round(pct(samples, 99) * 1000, 2),
            "n": len(samples)}


#: CPUs the engine is pinned to (None: no pinning); run.py's wrappers set it from opts.sut_cpus
SUT_CPUS: str | None = None


def start_engine(workers: list[dict[str, Any]], log_level: str = "warning") -> EngineProcess:
    """An engine process (tests/support/engine.py's config and ports) at WARNING log level (the
    tests' DEBUG level would be measured too), pinned to ``SUT_CPUS``."""
    workdir = Path(tempfile.mkdtemp(prefix="pyiii-bench-"))
    if not any(w["name"] == TRACING_OFF["name"] for w in workers):
        workers = [*workers, TRACING_OFF]
    proc = EngineProcess(workdir, workers=workers)
    cmd = [sys.executable, "-m", "pyiii", "--config", str(proc.config_path), "--log-level", log_level]
    if SUT_CPUS is not None:
        cmd = ["taskset", "-c", SUT_CPUS, *cmd]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OTEL_ENABLED": "false"}
    with proc.log_path.open("ab") as log:
        proc.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_port(proc.port, 15.0, proc.proc)
    return proc


class RawWorker:
    """One WebSocket connection speaking the iii protocol directly."""

    def __init__(self) -> None:
        self.ws: ClientConnection | None = None
        self.handlers: dict[str, Handler] = {}
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._outbox: list[bytes] = []

    async def connect(self, url: str) -> RawWorker:
        self.ws = await connect(url, compression=None, max_size=2**26, ping_interval=None)
        sock = self.ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        self._flush()
        if self.ws:
            await self.ws.close()

    async def send(self, frame: dict[str, Any]) -> None:
        """Queue a frame; the frames of one loop turn leave in one write (as the engine and the
        SDK do), so that this load generator is not what limits the engine's throughput."""
        assert self.ws is not None
        if not can_write_now(self.ws):
            await self.ws.send(msgspec.json.encode(frame), text=True)  # raises as websockets does
            return
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(msgspec.json.encode(frame))
        await wait_writable(self.ws)

    def _flush(self) -> None:
        frames, self._outbox = self._outbox, []
        if frames and self.ws is not None and can_write_now(self.ws):
            write_text_frames(self.ws, frames)

    async def register_function(self, function_id: str, handler: Handler) -> None:
        self.handlers[function_id] = handler
        await self.send({"type": "registerfunction", "id": function_id})

    async def register_trigger(self, trigger_type: str, function_id: str, config: Any) -> str:
        tid = str(uuid.uuid4())
        await self.send({"type": "registertrigger", "id": tid, "trigger_type": trigger_type,
                         "function_id": function_id, "config": config})
        return tid

    async def call(self, function_id: str, data: Any, action: Any = None) -> Any:
        iid = f"00000000-0000-4000-8000-{next(_ids):012x}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[iid] = fut
        frame: dict[str, Any] = {"type": "invokefunction", "invocation_id": iid, "function_id": function_id,
                                 "data": data}
        if action is not None:
            frame["action"] = action
        await self.send(frame)
        return await fut

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            msg = msgspec.json.decode(raw)
            kind = msg.get("type")
            if kind == "invocationresult":
                fut = self.pending.pop(msg.get("invocation_id"), None)
                if fut is not None and not fut.done():
                    if msg.get("error"):
                        fut.set_exception(RuntimeError(f"{msg['error'].get('code')}: {msg['error'].get('message')}"))
                    else:
                        fut.set_result(msg.get("result"))
            elif kind == "invokefunction":
                task = asyncio.create_task(self._invoke(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _invoke(self, msg: dict[str, Any]) -> None:
        handler = self.handlers.get(msg["function_id"])
        iid = msg.get("invocation_id")
        reply: dict[str, Any] = {"type": "invocationresult", "invocation_id": iid, "function_id": msg["function_id"]}
        try:
            assert handler is not None
            reply["result"] = await handler(msg.get("data"))
        except Exception as exc:
            reply["error"] = {"code": "handler_failed", "message": str(exc)}
        if iid:
            try:
                await self.send(reply)
            except Exception:
                pass  # the bench closed the connection while a handler was finishing

    async def wait_bindings(self, function_id: str, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await self.call("engine::registered-triggers::list", {"function_id": function_id})
            if len(rows["registered_triggers"]) >= count:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"bindings of {function_id} not live")


async def gather_windowed(coros: list[Awaitable[Any]], window: int) -> None:
    for i in range(0, len(coros), window):
        await asyncio.gather(*coros[i: i + window])


def service_up(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False
