"""``workers/queue/consumer.py`` over the in-memory adapter: what a call's outcome does to the
message (ack, retry after backoff, dead letter after max_attempts, release on interruption,
parking while the function is missing) and the order kept by fifo lanes. In-process, fast
backoffs; the adapter contract itself is tested per backend elsewhere."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from pyiii.core import errors as E
from pyiii.core.errors import FunctionError
from pyiii.workers.queue.adapters.memory import MemoryAdapter
from pyiii.workers.queue.consumer import Consumer, ConsumerSettings
from pyiii.workers.queue.message import Delivery, QueueMessage, now_ms
from pyiii.workers.queue.policy import DeliveryPolicy
from tests.support.waiting import eventually, stays

QUEUE = "__fn_queue::jobs"


class SpyAdapter(MemoryAdapter):
    """The memory adapter, recording how the consumer settles each message."""

    def __init__(self) -> None:
        super().__init__()
        self.settled: list[tuple[Any, ...]] = []

    async def ack(self, delivery: Delivery) -> None:
        self.settled.append(("ack", delivery.message.message_id))
        await super().ack(delivery)

    async def retry(self, delivery: Delivery, delay_ms: int) -> None:
        self.settled.append(("retry", delivery.message.message_id, delay_ms))
        await super().retry(delivery, delay_ms)

    async def release(self, delivery: Delivery, delay_ms: int, interrupted: bool) -> None:
        self.settled.append(("release", delivery.message.message_id, interrupted))
        await super().release(delivery, delay_ms, interrupted)

    async def dead_letter(self, delivery: Delivery, error: str) -> None:
        self.settled.append(("dead", delivery.message.message_id, error))
        await super().dead_letter(delivery, error)

    def kinds(self, mid: str) -> list[str]:
        return [s[0] for s in self.settled if s[1] == mid]


def message(mid: str, data: Any = None, function_id: str = "fn", group: str | None = None) -> QueueMessage:
    return QueueMessage(id=str(uuid.uuid4()), queue=QUEUE, data=msgspec.Raw(msgspec.json.encode(data or {})),
                        created_at=now_ms(), function_id=function_id, group_id=group, message_id=mid)


Invoke = Callable[[QueueMessage], Awaitable[Any]]


async def consume(adapter: SpyAdapter, invoke: Invoke, policy: DeliveryPolicy, *, exists: set[str] | None = None,
                  max_interruptions: int = 3) -> Consumer:
    registered = exists if exists is not None else {"fn"}
    consumer = Consumer(adapter, QUEUE, policy, invoke, lambda m: m.function_id, lambda f: f in registered,
                        ConsumerSettings(lease_ms=5_000, max_interruptions=max_interruptions,
                                         interrupted_pause_s=0.001))
    consumer.start()
    return consumer


def failing(times: int, code: str = "boom", calls: list[str] | None = None) -> Invoke:
    seen: dict[str, int] = {}

    async def invoke(m: QueueMessage) -> Any:
        assert m.message_id is not None
        if calls is not None:
            calls.append(m.message_id)
        seen[m.message_id] = seen.get(m.message_id, 0) + 1
        if seen[m.message_id] <= times:
            raise FunctionError(code, f"failure {seen[m.message_id]}")
        return "ok"

    return invoke


async def test_success_acks() -> None:
    adapter = SpyAdapter()
    consumer = await consume(adapter, failing(0), DeliveryPolicy())
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.settled == [("ack", "m1")], what="an ack")
        assert consumer.processed == 1 and consumer.failed == 0 and consumer.in_flight == 0
    finally:
        await consumer.stop()


async def test_failures_retry_with_backoff_then_dead_letter_after_max_attempts() -> None:
    adapter = SpyAdapter()
    policy = DeliveryPolicy(max_attempts=3, backoff_ms=5, max_backoff_ms=8)
    consumer = await consume(adapter, failing(99), policy)
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.kinds("m1") == ["retry", "retry", "dead"], what="two retries, then the DLQ")
        assert [s[2] for s in adapter.settled[:2]] == [5, 8]  # 5 ms, then 10 ms capped at 8
        assert adapter.settled[2][2] == "boom: failure 3"
        [dead] = await adapter.dlq_list([QUEUE], 0, 10)
        assert dead.message.attempts == 3 and dead.error == "boom: failure 3" and consumer.failed == 3
    finally:
        await consumer.stop()


async def test_a_message_that_succeeds_on_a_retry_is_acked() -> None:
    adapter = SpyAdapter()
    consumer = await consume(adapter, failing(1), DeliveryPolicy(max_attempts=3, backoff_ms=1))
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.kinds("m1") == ["retry", "ack"], what="a retry then an ack")
        assert not await adapter.dlq_list([QUEUE], 0, 10)
    finally:
        await consumer.stop()


async def test_one_attempt_means_straight_to_the_dlq() -> None:
    adapter = SpyAdapter()
    consumer = await consume(adapter, failing(1), DeliveryPolicy(max_attempts=1, backoff_ms=1))
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.kinds("m1") == ["dead"], what="the DLQ at once")
    finally:
        await consumer.stop()


async def test_interruptions_are_released_without_an_attempt_until_the_limit() -> None:
    adapter = SpyAdapter()
    consumer = await consume(adapter, failing(99, E.INVOCATION_STOPPED), DeliveryPolicy(max_attempts=2, backoff_ms=1),
                             max_interruptions=3)
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.kinds("m1") == ["release", "release", "dead"], what="released, then DLQ")
        assert all(s[2] is True for s in adapter.settled[:2])
        assert adapter.settled[2][2] == f"{E.INVOCATION_STOPPED}: interrupted 3 times"
        [dead] = await adapter.dlq_list([QUEUE], 0, 10)
        assert dead.message.interruptions == 2 and consumer.failed == 0  # no attempt was used
    finally:
        await consumer.stop()


async def test_channel_send_failed_counts_as_an_interruption_too() -> None:
    adapter = SpyAdapter()
    consumer = await consume(adapter, failing(1, E.CHANNEL_SEND_FAILED), DeliveryPolicy(max_attempts=1))
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: adapter.kinds("m1") == ["release", "ack"], what="released, then acked")
    finally:
        await consumer.stop()


async def test_a_missing_function_parks_the_message_until_it_is_registered() -> None:
    adapter = SpyAdapter()
    registered: set[str] = set()
    calls: list[str] = []

    async def invoke(m: QueueMessage) -> Any:
        calls.append(m.message_id or "")
        if m.function_id not in registered:
            raise FunctionError(E.FUNCTION_NOT_FOUND, f"Function {m.function_id} not found")
        return "ok"

    consumer = await consume(adapter, invoke, DeliveryPolicy(max_attempts=1), exists=registered)
    try:
        await adapter.publish(message("m1"))
        await eventually(lambda: calls == ["m1"], what="the first call")
        assert adapter.settled == [] and consumer.in_flight == 1  # parked, still leased, no attempt used
        registered.add("fn")
        consumer.functions_changed()
        await eventually(lambda: adapter.settled == [("ack", "m1")], what="the parked message runs")
    finally:
        await consumer.stop()


async def test_a_parked_job_waits_for_its_function_in_its_own_namespace() -> None:
    """The key is (namespace, function id): the same id registered elsewhere runs nothing and
    uses no attempt (spec iii-0.23-0.25 §1.11)."""
    adapter = SpyAdapter()
    registered: set[tuple[str, str]] = set()

    def key(m: QueueMessage) -> tuple[str, str]:
        return m.namespace or "default", m.function_id or ""

    async def invoke(m: QueueMessage) -> Any:
        if key(m) not in registered:
            raise FunctionError(E.FUNCTION_NOT_FOUND, f"Function {m.function_id} not found in namespace {key(m)[0]}")
        return "ok"

    consumer = Consumer(adapter, QUEUE, DeliveryPolicy(max_attempts=1), invoke, key, lambda k: k in registered,
                        ConsumerSettings(lease_ms=5_000))
    consumer.start()
    try:
        await adapter.publish(msgspec.structs.replace(message("m1"), namespace="a"))
        await eventually(lambda: consumer.in_flight == 1, what="the job is parked")
        registered.add(("default", "fn"))
        consumer.functions_changed()
        await stays(lambda: adapter.settled == [] and consumer.in_flight == 1, 0.2)
        registered.add(("a", "fn"))
        consumer.functions_changed()
        await eventually(lambda: adapter.settled == [("ack", "m1")], what="a's copy runs it")
    finally:
        await consumer.stop()


async def test_a_subscriber_consumer_does_not_receive_while_its_function_is_missing() -> None:
    adapter = SpyAdapter()
    registered: set[str] = set()
    calls: list[str] = []

    async def invoke(m: QueueMessage) -> Any:
        calls.append(m.message_id or "")

    consumer = Consumer(adapter, QUEUE, DeliveryPolicy(), invoke, lambda m: "fn", lambda f: f in registered,
                        ConsumerSettings(lease_ms=5_000), fixed_function="fn")
    consumer.start()
    try:
        await adapter.publish(message("m1"))
        registered.add("fn")
        consumer.functions_changed()
        await eventually(lambda: calls == ["m1"] and adapter.settled == [("ack", "m1")], what="delivery")
    finally:
        await consumer.stop()


async def test_fifo_keeps_order_per_group_and_retries_inline() -> None:
    adapter = SpyAdapter()
    calls: list[str] = []
    policy = DeliveryPolicy(max_attempts=3, backoff_ms=1, fifo=True, group_field="g")
    consumer = await consume(adapter, failing(1, calls=calls), policy)
    try:
        for mid, group in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B")]:
            await adapter.publish(message(mid, {"g": group}))
        await eventually(lambda: len([s for s in adapter.settled if s[0] == "ack"]) == 4, what="four acks")
        for group in ("a", "b"):
            mine = [c for c in calls if c.startswith(group)]
            assert mine == [f"{group}1", f"{group}1", f"{group}2", f"{group}2"]  # 2 waits for 1's retry
        assert not [s for s in adapter.settled if s[0] == "retry"]  # fifo retries inline, the lease held
    finally:
        await consumer.stop()


async def test_fifo_dead_letters_after_max_attempts_and_moves_on() -> None:
    adapter = SpyAdapter()
    policy = DeliveryPolicy(max_attempts=2, backoff_ms=1, fifo=True, group_field="g")
    calls: list[str] = []

    async def invoke(m: QueueMessage) -> Any:
        calls.append(m.message_id or "")
        if m.message_id == "bad":
            raise FunctionError("boom", "always")

    consumer = await consume(adapter, invoke, policy)
    try:
        await adapter.publish(message("bad", {"g": "A"}))
        await adapter.publish(message("next", {"g": "A"}))
        await eventually(lambda: adapter.kinds("next") == ["ack"], what="the next message of the group")
        assert calls == ["bad", "bad", "next"] and adapter.kinds("bad") == ["dead"]
        [dead] = await adapter.dlq_list([QUEUE], 0, 10)
        assert dead.message.attempts == 2 and dead.error == "boom: always"
    finally:
        await consumer.stop()
