"""Raw ``websockets`` clients against a real engine process, for malformed and hostile input."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from websockets.asyncio.client import ClientConnection, connect

from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

#: Listener settings of the shared engine: small limits so the tests can hit them quickly.
MAX_FRAME_BYTES = 65536
HANDSHAKE_TIMEOUT_MS = 500


def engine_with_listener(workdir: Path, **listener: Any) -> EngineProcess:
    """An :class:`EngineProcess` whose main listener has extra config keys."""
    proc = EngineProcess(workdir)
    doc = yaml.safe_load(proc.config_path.read_text())
    doc["workers"][0]["config"].update(listener)
    proc.config_path.write_text(yaml.safe_dump(doc))
    return proc


@pytest.fixture(scope="module")
def limited_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = engine_with_listener(
        tmp_path_factory.mktemp("engine"), max_frame_bytes=MAX_FRAME_BYTES, handshake_timeout_ms=HANDSHAKE_TIMEOUT_MS
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


class RawWorker:
    """A worker speaking the wire protocol by hand. Frames that arrive while waiting for a
    specific one are kept in ``inbox`` in arrival order."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        assert hello["type"] == "workerregistered", hello
        self.worker_id: str = hello["worker_id"]
        self.reattach_token: str = hello["reattach_token"]
        self.inbox: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str) -> RawWorker:
        ws = await connect(url, max_size=None, compression=None)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return cls(ws, hello)

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def expect(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """The first frame (buffered or new) matching ``pred``."""
        for i, frame in enumerate(self.inbox):
            if pred(frame):
                return self.inbox.pop(i)

        async def read() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.ws.recv())
                if pred(frame):
                    return frame
                self.inbox.append(frame)

        return await asyncio.wait_for(read(), timeout)

    async def sync(self, timeout: float = 5.0) -> None:
        """JSON ping -> pong: everything sent before it has been processed by the engine."""
        await self.send({"type": "ping"})
        await self.expect(lambda f: f.get("type") == "pong", timeout)

    async def register(self, function_id: str) -> None:
        await self.send({"type": "registerfunction", "id": function_id})
        await self.sync()

    async def call(self, function_id: str, data: Any, invocation_id: str, **extra: Any) -> None:
        await self.send(
            {
                "type": "invokefunction",
                "invocation_id": invocation_id,
                "function_id": function_id,
                "data": data,
                **extra,
            }
        )

    async def result(self, invocation_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.expect(
            lambda f: f.get("type") == "invocationresult" and f.get("invocation_id") == invocation_id, timeout
        )

    async def invocation(self, function_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.expect(
            lambda f: f.get("type") == "invokefunction" and f.get("function_id") == function_id, timeout
        )

    async def answer(self, invocation: dict[str, Any], result: Any) -> None:
        await self.send(
            {
                "type": "invocationresult",
                "invocation_id": invocation["invocation_id"],
                "function_id": invocation["function_id"],
                "result": result,
            }
        )

    async def announce(self, name: str) -> None:
        """Report worker metadata with a pid, so ``engine::workers::list`` shows this worker."""
        await self.send(
            {
                "type": "invokefunction",
                "function_id": "engine::workers::register",
                "data": {"runtime": "raw", "name": name, "pid": 4242},
                "action": {"type": "void"},
            }
        )
        await self.sync()

    async def worker_ids(self) -> set[str]:
        """Ids of the connected workers that reported a pid."""
        invocation_id = str(uuid.uuid4())
        await self.call("engine::workers::list", {}, invocation_id)
        return {row["id"] for row in (await self.result(invocation_id))["result"]["workers"]}

    async def until_gone(self, worker_id: str, timeout: float = 5.0) -> None:
        """Wait until the engine finished the disconnect cleanup of ``worker_id``."""
        async def gone() -> bool:
            return worker_id not in await self.worker_ids()

        await eventually(gone, timeout, 0.02, what=f"worker {worker_id} to leave the listing")

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
async def raw(limited_engine: EngineProcess) -> AsyncIterator[Callable[..., Awaitable[RawWorker]]]:
    """Factory of raw worker connections to the shared limited engine (or another url)."""
    made: list[RawWorker] = []

    async def make(url: str | None = None) -> RawWorker:
        w = await RawWorker.open(url or limited_engine.url)
        made.append(w)
        return w

    yield make
    for w in made:
        await w.close()


async def wait_log(engine: EngineProcess, needle: str, timeout: float = 5.0) -> str:
    """The engine's log once it contains ``needle`` (log lines are flushed per record)."""
    def found() -> str | None:
        logs = engine.logs()
        return logs if needle in logs else None

    try:
        return str(await eventually(found, timeout, 0.05, what=f"{needle!r} in the engine log"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}:\n{engine.logs()[-3000:]}") from None
