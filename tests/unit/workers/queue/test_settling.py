"""``workers/queue/adapters/base.py``: what happens to a message after a failed or interrupted
call is decided once, in the base class; a backend only stores the outcome. A recording adapter
captures the primitives (``requeue``, ``bury``) the decision asks for."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from pyiii.workers.queue.adapters.memory import MemoryAdapter
from pyiii.workers.queue.message import DeadLetter, Delivery, QueueMessage, now_ms
from pyiii.workers.queue.policy import DeliveryPolicy

POLICY = DeliveryPolicy(max_attempts=3, backoff_ms=100, max_backoff_ms=150)


class RecordingAdapter(MemoryAdapter):
    """Records the storage primitives instead of storing anything."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        self.calls.append(("requeue", delivery, message, delay_ms, keep_place))

    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        self.calls.append(("bury", delivery, dead))


def delivery(attempts: int = 0, interruptions: int = 0) -> Delivery:
    message = QueueMessage(id=str(uuid.uuid4()), queue="q", data=msgspec.Raw(b'{"n":1}'), created_at=now_ms(),
                           attempts=attempts, interruptions=interruptions)
    return Delivery(message, handle=7)


async def test_a_failure_with_attempts_left_is_requeued_at_the_back_after_the_backoff() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=0)
    assert await adapter.settle_failed(d, POLICY, "boom: no") is False
    [(kind, given, message, delay_ms, keep_place)] = adapter.calls
    assert (kind, given, delay_ms, keep_place) == ("requeue", d, 100, False)
    assert (message.id, message.attempts, message.interruptions) == (d.message.id, 1, 0)


async def test_the_backoff_grows_with_the_failed_attempts_and_is_capped() -> None:
    adapter = RecordingAdapter()
    await adapter.settle_failed(delivery(attempts=1), POLICY, "boom")
    await adapter.settle_failed(delivery(attempts=1), DeliveryPolicy(max_attempts=9, backoff_ms=100), "boom")
    assert [c[3] for c in adapter.calls] == [150, 200]


async def test_the_failure_that_uses_the_last_attempt_buries_the_message() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=2)
    before = now_ms()
    assert await adapter.settle_failed(d, POLICY, "boom: no") is True
    [(kind, given, dead)] = adapter.calls
    assert (kind, given, dead.error) == ("bury", d, "boom: no")
    assert (dead.message.id, dead.message.attempts) == (d.message.id, 3)  # the final attempt counts
    assert before <= dead.failed_at <= now_ms()


async def test_one_attempt_means_the_first_failure_buries() -> None:
    adapter = RecordingAdapter()
    assert await adapter.settle_failed(delivery(), DeliveryPolicy(max_attempts=1), "boom") is True
    assert [c[0] for c in adapter.calls] == ["bury"]


async def test_an_interruption_gives_the_message_back_at_once_without_using_an_attempt() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=1, interruptions=1)
    assert await adapter.settle_interrupted(d, 3, "invocation_stopped") is False
    [(kind, given, message, delay_ms, keep_place)] = adapter.calls
    assert (kind, given, delay_ms, keep_place) == ("requeue", d, 0, True)
    assert (message.attempts, message.interruptions) == (1, 2)


async def test_too_many_interruptions_in_a_row_bury_the_message() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=1, interruptions=2)
    assert await adapter.settle_interrupted(d, 3, "invocation_stopped") is True
    [(kind, _, dead)] = adapter.calls
    assert (kind, dead.error, dead.message.attempts) == ("bury", "invocation_stopped: interrupted 3 times", 2)


async def test_a_plain_release_changes_no_count() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=2, interruptions=1)
    await adapter.release(d, 250, interrupted=False)
    [(_, _, message, delay_ms, keep_place)] = adapter.calls
    assert (message.attempts, message.interruptions, delay_ms, keep_place) == (2, 1, 250, True)


async def test_the_delivered_message_itself_is_never_changed() -> None:
    adapter, d = RecordingAdapter(), delivery(attempts=2, interruptions=2)
    await adapter.settle_failed(d, POLICY, "boom")
    await adapter.settle_interrupted(d, 9, "invocation_stopped")
    await adapter.settle_interrupted(d, 3, "invocation_stopped")
    assert (d.message.attempts, d.message.interruptions) == (2, 2)
    assert [c[0] for c in adapter.calls] == ["bury", "requeue", "bury"]
