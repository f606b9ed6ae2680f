"""The storage contract every queue adapter fulfils.

Semantics shared by all adapters (the consumer relies on them):

* ``publish`` / ``publish_topic`` return only once the message is durable for that adapter
  (SQLite commit, Redis reply, RabbitMQ publisher confirm).
* ``receive`` blocks until at least one message is visible (push: no polling interval on the
  hot path) and leases what it returns for ``lease_ms``; a lease that is neither acked nor
  renewed expires and the message is delivered again (a crashed engine loses nothing).
* A message leaves storage only through ``ack`` (handler succeeded) or ``dead_letter``.

What happens to a message after a failed or interrupted call is decided here, once, for every
backend (:meth:`QueueAdapter.settle_failed`, :meth:`QueueAdapter.settle_interrupted`, with the
numbers of :class:`~pyiii.workers.queue.policy.DeliveryPolicy`); so is how the message changes
(attempts, interruptions, the dead-letter record). A backend implements only the storage
primitives: :meth:`~QueueAdapter.requeue`, :meth:`~QueueAdapter.bury` and ``ack``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from pyiii.workers.queue.message import DeadLetter, Delivery, QueueMessage, QueueStats, now_ms
from pyiii.workers.queue.policy import DeliveryPolicy


@dataclass(frozen=True, slots=True)
class LegacyMove:
    """One pre-namespace subscriber queue moved to its ``default`` name."""

    queue: str
    target: str
    messages: int
    dead_letters: int


class AdapterError(Exception):
    """The backing store failed (connection lost, broker refused...)."""


class QueueAdapter(abc.ABC):
    #: ``broker_type`` shown by ``engine::queue::list_topics`` for topics.
    broker_type: str = "builtin"
    #: Where messages are kept, for the start-up banner (no credentials).
    description: str = "in memory"
    #: Set by adapters that depend on a server (``redis``, ``rabbitmq``): listed in ``/readyz``.
    remote_kind: str | None = None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        """Raise when the broker cannot serve now (``/readyz``). Local storage always can."""
        return None

    # ------------------------------------------------------------- topics (durable pub/sub)

    # A subscriber is a ``naming.subscriber_key(function_id, namespace)``; its messages are in
    # ``naming.subscriber_queue(topic, subscriber)``.

    @abc.abstractmethod
    async def add_subscriber(self, topic: str, subscriber: str) -> int:
        """Make ``subscriber`` a durable subscriber of ``topic``. The first subscriber of a
        topic takes over the topic's backlog; returns how many backlog messages it received."""

    @abc.abstractmethod
    async def remove_subscriber(self, topic: str, subscriber: str) -> None:
        """Forget the subscription; messages already in the subscriber's queue stay there."""

    @abc.abstractmethod
    async def subscribers(self, topic: str) -> list[str]: ...

    async def move_legacy_subscriber_queues(self) -> list[LegacyMove]:
        """Once, at start and before any consumer: move the subscriber queues stored before
        namespaces (``<topic>::<fid>``) to their ``default`` names, with their waiting, in-flight
        and delayed messages and their dead letters; rewrite the stored subscriptions the same
        way. Atomic per queue and idempotent (a crash mid-way loses and duplicates nothing; the
        next start finishes). Returns what moved. Backends that keep nothing across processes
        have nothing to move."""
        return []

    @abc.abstractmethod
    async def topics(self) -> list[str]:
        """Topics with subscribers or a backlog."""

    @abc.abstractmethod
    async def publish_topic(self, topic: str, message: QueueMessage, max_backlog: int) -> int:
        """Copy ``message`` into every subscriber's queue, or into the topic backlog when there
        is none (raises BacklogFull past ``max_backlog``). Returns the number of copies."""

    # ------------------------------------------------------------- queues

    @abc.abstractmethod
    async def publish(self, message: QueueMessage) -> None:
        """Store ``message`` in ``message.queue``."""

    @abc.abstractmethod
    async def receive(self, queue: str, max_count: int, lease_ms: int) -> list[Delivery]:
        """Wait until messages are visible, lease up to ``max_count`` of them."""

    @abc.abstractmethod
    async def ack(self, delivery: Delivery) -> None: ...

    # ------------------------------------------------------------- after a call: the decisions

    async def settle_failed(self, delivery: Delivery, policy: DeliveryPolicy, error: str) -> bool:
        """The handler failed (an error or a timeout): one attempt used. Retry after the policy's
        backoff, or dead-letter once the policy's attempts are used up; True when dead-lettered."""
        delay_ms = policy.retry_delay_ms(delivery.message.attempts + 1)
        if delay_ms is None:
            await self.dead_letter(delivery, error)
            return True
        await self.retry(delivery, delay_ms)
        return False

    async def settle_interrupted(self, delivery: Delivery, max_interruptions: int, code: str) -> bool:
        """The worker died or left mid-call: give the message back without using an attempt, but
        dead-letter it after ``max_interruptions`` in a row (a poison message that kills its
        worker cannot loop forever); True when dead-lettered."""
        interruptions = delivery.message.interruptions + 1
        if interruptions >= max_interruptions:
            await self.dead_letter(delivery, f"{code}: interrupted {interruptions} times")
            return True
        await self.release(delivery, 0, interrupted=True)
        return False

    # ------------------------------------------------------------- after a call: the message updates

    async def retry(self, delivery: Delivery, delay_ms: int) -> None:
        """A failed attempt: count it and make the message visible again after ``delay_ms``."""
        message = msgspec.structs.replace(delivery.message, attempts=delivery.message.attempts + 1)
        await self.requeue(delivery, message, delay_ms, keep_place=False)

    async def release(self, delivery: Delivery, delay_ms: int, interrupted: bool) -> None:
        """Give the message back without counting an attempt (worker gone, function missing);
        ``interrupted`` counts a disconnect in ``message.interruptions``."""
        message = delivery.message
        if interrupted:
            message = msgspec.structs.replace(message, interruptions=message.interruptions + 1)
        await self.requeue(delivery, message, delay_ms, keep_place=True)

    async def dead_letter(self, delivery: Delivery, error: str) -> None:
        """Count the final attempt and move the message to the queue's dead-letter store."""
        message = msgspec.structs.replace(delivery.message, attempts=delivery.message.attempts + 1)
        await self.bury(delivery, DeadLetter(message=message, error=error, failed_at=now_ms()))

    # ------------------------------------------------------------- after a call: the primitives

    @abc.abstractmethod
    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        """Replace the leased ``delivery`` with ``message`` (its updated counts), visible again
        after ``delay_ms``. ``keep_place``: a release, which keeps its place in the queue where the
        backend can; a retry goes to the back (failing messages at the head of a deep queue are
        not skipped over by every receive)."""

    @abc.abstractmethod
    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        """Remove the leased ``delivery`` and keep ``dead`` in its queue's dead-letter store."""

    @abc.abstractmethod
    async def extend(self, deliveries: Sequence[Delivery], lease_ms: int) -> None:
        """Renew leases of messages whose handlers are still running."""

    # ------------------------------------------------------------- inspection and DLQ

    @abc.abstractmethod
    async def stats(self, queue: str) -> QueueStats: ...

    @abc.abstractmethod
    async def dlq_counts(self) -> dict[str, int]:
        """Dead-letter count per internal queue name (only non-empty ones)."""

    @abc.abstractmethod
    async def dlq_list(self, queues: Sequence[str], offset: int, limit: int) -> list[DeadLetter]:
        """Newest first."""

    @abc.abstractmethod
    async def redrive(self, queues: Sequence[str], message_id: str | None) -> int:
        """Move dead letters (all, or the one with ``message_id``) back with attempts = 0."""

    @abc.abstractmethod
    async def discard(self, queues: Sequence[str], message_id: str) -> bool: ...


class BacklogFull(Exception):
    def __init__(self, topic: str, limit: int) -> None:
        super().__init__(f"topic '{topic}' has no subscriber and its backlog is full ({limit} messages)")
        self.topic = topic
        self.limit = limit
