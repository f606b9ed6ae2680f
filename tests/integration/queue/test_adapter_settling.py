"""Redis and RabbitMQ adapters in-process, what only they have: batched settles and due-time
retry timers under a burst, a broker-side connection drop, batched Redis publishes.

What every queue adapter must do (ack, retry at its due time, redelivery after a consumer dies,
durability across a re-open...) is the contract suite's: tests/contracts/queue/."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from pyiii.workers.queue.adapter_config import RabbitConfig, RedisConfig
from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.message import Delivery, QueueMessage, now_ms
from tests.integration.queue.conftest import adapter_spec
from tests.support.waiting import eventually


def message(queue: str, i: int) -> QueueMessage:
    return QueueMessage(id=str(uuid.uuid4()), queue=queue, data=msgspec.Raw(msgspec.json.encode({"i": i})),
                        created_at=now_ms())


def make(name: str, spec: dict[str, Any]) -> QueueAdapter:
    if name == "redis":
        from pyiii.workers.queue.adapters.redis import RedisAdapter

        return RedisAdapter(msgspec.convert({**spec["config"], "block_ms": 200}, RedisConfig))
    from pyiii.workers.queue.adapters.rabbitmq import RabbitAdapter

    return RabbitAdapter(msgspec.convert(spec["config"], RabbitConfig))


@pytest.fixture(params=["redis", "rabbitmq"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, QueueAdapter, QueueAdapter]]:
    """Two adapters on the same store and names: two engines."""
    spec = adapter_spec(request.param)
    a, b = make(request.param, spec), make(request.param, spec)
    await a.start()
    await b.start()
    try:
        yield request.param, a, b
    finally:
        await a.close()
        await b.close()


async def take(adapter: QueueAdapter, queue: str, n: int, lease_ms: int = 60_000, timeout: float = 10.0
               ) -> list[Delivery]:
    got: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} messages arrived"
        got += await asyncio.wait_for(adapter.receive(queue, n - len(got), lease_ms), left)
    return got


def ids(deliveries: list[Delivery]) -> list[int]:
    return sorted(d.message.decoded_data()["i"] for d in deliveries)


async def nothing_within(adapter: QueueAdapter, queue: str, seconds: float, lease_ms: int = 60_000) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(adapter.receive(queue, 10, lease_ms), seconds)


async def test_retries_in_a_burst_keep_their_schedule_and_count(pair: tuple[str, QueueAdapter, QueueAdapter]
                                                              ) -> None:
    _, a, _ = pair
    queue = f"burst-{uuid.uuid4().hex[:6]}"
    for i in range(30):
        await a.publish(message(queue, i))
    got = await take(a, queue, 30)
    t0 = time.monotonic()
    await asyncio.gather(*(a.retry(d, 250) for d in got))
    again = await take(a, queue, 30, timeout=10)
    assert time.monotonic() - t0 >= 0.24
    assert ids(again) == list(range(30))
    assert all(d.message.attempts == 1 for d in again)
    await asyncio.gather(*(a.dead_letter(d, "boom") for d in again))
    await nothing_within(a, queue, 0.6)
    assert (await a.dlq_counts()).get(queue) == 30


def _drop_connections_of_this_process() -> bool:
    """Close this process's AMQP connections from the broker side (``rabbitmqctl``); False when
    that is not possible here."""
    import os
    import re
    import shutil
    import subprocess

    if shutil.which("rabbitmqctl") is None or shutil.which("ss") is None:
        return False
    sockets = subprocess.run(["ss", "-tnp"], capture_output=True, text=True, timeout=30).stdout
    ports = {m.group(1) for line in sockets.splitlines() if f"pid={os.getpid()}," in line
             for m in [re.search(r"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:5672", line)] if m}
    listing = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "name"], capture_output=True,
                             text=True, timeout=60)
    pids = [line.split("\t")[0] for line in listing.stdout.splitlines()
            if any(f"127.0.0.1:{p} ->" in line for p in ports)]
    closed = [subprocess.run(["rabbitmqctl", "close_connection", pid, "test drop"], capture_output=True,
                             timeout=60).returncode == 0 for pid in pids]
    return bool(closed) and all(closed)


async def test_rabbitmq_connection_drop_redelivers_the_unacked_once() -> None:
    spec = adapter_spec("rabbitmq")
    a = make("rabbitmq", spec)
    await a.start()
    try:
        queue = f"drop-{uuid.uuid4().hex[:6]}"
        for i in range(20):
            await a.publish(message(queue, i))
        got = await take(a, queue, 20)
        await asyncio.gather(*(a.ack(d) for d in got[:5]))
        await a.retry(got[5], 300)
        if not await asyncio.to_thread(_drop_connections_of_this_process):
            pytest.skip("cannot close this process's AMQP connection (rabbitmqctl / ss)")

        async def dropped() -> bool:  # ping answers from the robust connection's own state
            try:
                await a.ping()
            except ConnectionError:
                return True
            return False

        await eventually(dropped, 10, what="the adapter to see its connection closed")
        # deliveries of the closed channel cannot be acked; the broker has them back
        results = await asyncio.gather(*(a.ack(d) for d in got[6:]), return_exceptions=True)
        assert all(isinstance(r, Exception) for r in results)
        back = await take(a, queue, 15, timeout=30)  # after aio-pika's reconnect delay
        assert sorted((d.message.decoded_data()["i"], d.message.attempts) for d in back) == \
            [(5, 1)] + [(i, 0) for i in range(6, 20)]
        await asyncio.gather(*(a.ack(d) for d in back))
        await nothing_within(a, queue, 1.0)
        stats = await a.stats(queue)
        assert stats.waiting == 0 and stats.in_flight == 0
    finally:
        await a.close()


async def test_redis_batched_publishes_each_get_their_own_reply() -> None:
    """Concurrent publishes share one pipeline, yet each gets its own copy count or error, and
    a Redis that lost the script (SCRIPT FLUSH) is given it again before the batch runs."""
    from pyiii.workers.queue.adapters.base import BacklogFull
    from pyiii.workers.queue.message import subscriber_queue
    from pyiii.workers.queue.naming import subscriber_key

    spec = adapter_spec("redis")
    adapter = make("redis", spec)
    await adapter.start()
    topic = f"batch-{uuid.uuid4().hex[:8]}"
    try:
        # no subscriber yet: messages wait in the topic's backlog, up to max_backlog of them
        results = await asyncio.gather(*(adapter.publish_topic(topic, message(topic, i), 50) for i in range(80)),
                                       return_exceptions=True)
        full = [r for r in results if isinstance(r, BacklogFull)]
        assert len(full) == 30 and all(r == 0 for r in results if not isinstance(r, BaseException)), results
        await adapter.add_subscriber(topic, subscriber_key("fn::a"))
        await adapter._redis.script_flush()  # type: ignore[attr-defined]
        copies = await asyncio.gather(*(adapter.publish_topic(topic, message(topic, i), 50) for i in range(40)))
        assert copies == [1] * 40
        queue = subscriber_queue(topic, subscriber_key("fn::a"))
        got = await take(adapter, queue, 90)  # the 50 from the backlog, then the 40
        assert len({d.message.id for d in got}) == 90
        await asyncio.gather(*(adapter.ack(d) for d in got))  # batched settles too
        stats = await adapter.stats(queue)
        assert (stats.waiting, stats.in_flight, stats.dead) == (0, 0, 0), stats
    finally:
        await adapter.close()
