"""Attack: one caller fills a worker's pending-call quota so that every other caller gets
``limit_exceeded``. Each caller (a connection; all built-in callers such as HTTP together)
may hold only ``max_pending_caller_share`` of a worker's ``max_pending_per_worker``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker, wait_function

PER_WORKER = 10  # -> a share of 5 per caller with the default max_pending_caller_share (0.5)
SHARE = 5


@pytest.fixture(scope="module")
def http_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, http_port: int) -> Iterator[EngineProcess]:
    proc = EngineProcess(
        tmp_path_factory.mktemp("engine"),
        workers=[{"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}}],
        extra={"engine": {"max_pending_per_worker": PER_WORKER}},
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


class SlowOwner:
    """A worker whose function answers only when told to."""

    def __init__(self, worker: RawWorker) -> None:
        self.worker = worker
        self.received: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._collect())

    async def _collect(self) -> None:
        while True:
            self.received.append(await self.worker.expect("invokefunction", timeout=3600))

    async def answer_all(self) -> None:
        for call in self.received:
            await self.worker.send({"type": "invocationresult", "invocation_id": call["invocation_id"],
                                    "function_id": call["function_id"], "result": {"ok": True}})
        self.received.clear()


@pytest.fixture
async def owner(engine: EngineProcess, http_port: int) -> AsyncIterator[SlowOwner]:
    worker = await RawWorker.connect(engine.url)
    fid = "quota::slow"
    await worker.register(fid)
    await worker.send({"type": "registertrigger", "id": "quota-route", "trigger_type": "http", "function_id": fid,
                       "config": {"api_path": "quota", "http_method": "POST"}})
    slow = SlowOwner(worker)
    try:
        yield slow
    finally:
        await slow.answer_all()
        await worker.close()


async def _greedy(engine: EngineProcess, owner: SlowOwner, n: int) -> tuple[RawWorker, list[asyncio.Future[Any]]]:
    greedy = await RawWorker.connect(engine.url)
    await wait_function(greedy, "quota::slow")
    calls = [asyncio.ensure_future(greedy.call("quota::slow", {}, timeout=30)) for _ in range(n)]
    await eventually(lambda: len(owner.received) >= SHARE, timeout=5, what="greedy share forwarded")
    return greedy, calls


async def test_a_greedy_caller_saturates_only_its_share(engine: EngineProcess, owner: SlowOwner) -> None:
    greedy, calls = await _greedy(engine, owner, PER_WORKER * 2)
    other = await RawWorker.connect(engine.url)
    try:
        await eventually(lambda: sum(c.done() for c in calls) == PER_WORKER * 2 - SHARE, timeout=5,
                         what="every call past the share refused")
        refused = [c.result() for c in calls if c.done()]
        assert all(r["error"]["code"] == "limit_exceeded" for r in refused), refused
        assert len(owner.received) == SHARE

        polite = asyncio.ensure_future(other.call("quota::slow", {"polite": True}, timeout=5))
        await eventually(lambda: any(c["data"].get("polite") for c in owner.received), timeout=5,
                         what="the other caller's call reached the worker")
        await owner.answer_all()
        assert (await polite)["result"] == {"ok": True}
        assert all("result" in r for r in await asyncio.gather(*(c for c in calls if not c.done())))
    finally:
        await other.close()
        await greedy.close()


async def test_http_traffic_still_gets_through_a_greedy_worker(
    engine: EngineProcess, owner: SlowOwner, http_port: int
) -> None:
    greedy, _calls = await _greedy(engine, owner, PER_WORKER * 2)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            request = asyncio.ensure_future(http.post(f"http://127.0.0.1:{http_port}/quota", json={"web": True}))
            await eventually(lambda: any(c["data"].get("body", {}).get("web") for c in owner.received if
                                         isinstance(c["data"], dict)), timeout=5, what="the HTTP call reached")
            await owner.answer_all()
            assert (await request).status_code == 200
    finally:
        await greedy.close()


async def test_http_traffic_cannot_starve_worker_callers(
    engine: EngineProcess, owner: SlowOwner, http_port: int
) -> None:
    """All built-in callers together are one caller: a flood of HTTP requests holds one share."""
    caller = await RawWorker.connect(engine.url)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            flood = [asyncio.ensure_future(http.post(f"http://127.0.0.1:{http_port}/quota", json={}))
                     for _ in range(PER_WORKER)]
            await eventually(lambda: len(owner.received) >= SHARE, timeout=5, what="HTTP share forwarded")
            call = asyncio.ensure_future(caller.call("quota::slow", {"worker": True}, timeout=5))
            await eventually(lambda: any(c["data"].get("worker") for c in owner.received), timeout=5,
                             what="the worker caller got through")
            await owner.answer_all()
            assert "result" in await call
            statuses = sorted({r.status_code for r in await asyncio.gather(*flood)})
            assert set(statuses) <= {200, 503}, statuses
    finally:
        await caller.close()


async def test_http_requests_past_the_share_get_503_with_retry_after(
    engine: EngineProcess, owner: SlowOwner, http_port: int
) -> None:
    """Overload is not a server bug: 503 + Retry-After, typed, without the engine's internals."""
    async with httpx.AsyncClient(timeout=10) as http:
        flood = [asyncio.ensure_future(http.post(f"http://127.0.0.1:{http_port}/quota", json={}))
                 for _ in range(SHARE + 3)]
        await eventually(lambda: sum(f.done() for f in flood) == 3, timeout=5, what="requests past the share answered")
        refused = [f.result() for f in flood if f.done()]
        await owner.answer_all()
        await asyncio.gather(*flood)
    for response in refused:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        error = response.json()["error"]
        assert error["code"] == "limit_exceeded"
        assert "retry" in error["message"] and "max_pending" not in error["message"], error
