"""Small helpers of the queue contract: messages, receiving n of them, absence."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import msgspec
import pytest

from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.message import DeadLetter, Delivery, QueueMessage, now_ms
from tests.support.waiting import eventually

#: Long enough that no lease lapses during a test that does not want it to.
LONG_LEASE_MS = 60_000


def qname(kind: str = "q") -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def message(queue: str, data: Any, **kw: Any) -> QueueMessage:
    return QueueMessage(id=str(uuid.uuid4()), queue=queue, data=msgspec.Raw(msgspec.json.encode(data)),
                        created_at=now_ms(), **kw)


async def take(adapter: QueueAdapter, queue: str, n: int, lease_ms: int = LONG_LEASE_MS,
               timeout: float = 15.0) -> list[Delivery]:
    """Receive exactly ``n`` deliveries (several ``receive`` calls if need be), in arrival order."""
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} messages arrived within {timeout}s: {payloads(got)}"
        got += await asyncio.wait_for(adapter.receive(queue, n - len(got), lease_ms), left)
    assert len(got) == n, f"asked for {n}, got {len(got)}: {payloads(got)}"
    return got


async def nothing_within(adapter: QueueAdapter, queue: str, seconds: float, lease_ms: int = LONG_LEASE_MS) -> None:
    """Nothing is delivered for ``seconds``: the blocking-receive form of ``stays``."""
    try:
        got = await asyncio.wait_for(adapter.receive(queue, 10, lease_ms), seconds)
    except TimeoutError:
        return
    pytest.fail(f"expected nothing on {queue} for {seconds}s, got {payloads(got)}")


def payloads(deliveries: list[Delivery]) -> list[Any]:
    return [d.message.decoded_data() for d in deliveries]


async def dead_letters(adapter: QueueAdapter, queue: str, n: int) -> list[DeadLetter]:
    """Wait until ``queue`` has exactly ``n`` dead letters; return them (newest first)."""

    async def probe() -> list[DeadLetter] | None:
        rows = await adapter.dlq_list([queue], 0, 1000)
        return rows if len(rows) == n else None

    rows: list[DeadLetter] = await eventually(probe, what=f"{n} dead letters on {queue}")
    return rows
