"""In-memory adapter: the same semantics as SQLite without a disk. For tests and dev only —
everything is gone when the process exits."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyiii.workers.queue.adapters.base import BacklogFull, QueueAdapter
from pyiii.workers.queue.adapters.signals import QueueSignals
from pyiii.workers.queue.adapters.subscribers import TopicSubscribers
from pyiii.workers.queue.message import (
    DeadLetter,
    Delivery,
    QueueMessage,
    QueueStats,
    backlog_queue,
    newest_first,
    now_ms,
    subscriber_queue,
)


@dataclass(slots=True)
class _Leased:
    seq: int
    message: QueueMessage
    lease_until: int


@dataclass(slots=True)
class _Queue:
    ready: list[tuple[int, QueueMessage]] = field(default_factory=list)  # heap by seq
    delayed: list[tuple[int, int, QueueMessage]] = field(default_factory=list)  # heap by visible_at
    leased: dict[str, _Leased] = field(default_factory=dict)
    dead: dict[str, DeadLetter] = field(default_factory=dict)


class MemoryAdapter(QueueAdapter):
    broker_type = "builtin"

    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._subs = TopicSubscribers()
        self._seq = itertools.count()
        self._signals = QueueSignals()

    def _q(self, name: str) -> _Queue:
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = _Queue()
        return q

    def _push(self, message: QueueMessage, seq: int | None = None, visible_at: int = 0) -> None:
        q = self._q(message.queue)
        seq = next(self._seq) if seq is None else seq
        if visible_at > now_ms():
            heapq.heappush(q.delayed, (visible_at, seq, message))
        else:
            heapq.heappush(q.ready, (seq, message))
        # Delayed too: a waiting consumer recomputes its deadline.
        self._signals.wake(message.queue)

    # ------------------------------------------------------------- topics

    async def add_subscriber(self, topic: str, subscriber: str) -> int:
        first = not self._subs.of(topic)
        self._subs.add(topic, subscriber)
        if not first:
            return 0
        backlog = self._queues.pop(backlog_queue(topic), None)
        if backlog is None:
            return 0
        moved = sorted(backlog.ready) + sorted((s, m) for _, s, m in backlog.delayed)
        for seq, message in moved:
            self._push(message.copy_to(subscriber_queue(topic, subscriber)), seq)
        return len(moved)

    async def remove_subscriber(self, topic: str, subscriber: str) -> None:
        self._subs.remove(topic, subscriber)

    async def subscribers(self, topic: str) -> list[str]:
        return self._subs.of(topic)

    async def topics(self) -> list[str]:
        names = self._subs.topics()
        prefix = backlog_queue("")
        names.update(n.removeprefix(prefix) for n, q in self._queues.items() if n.startswith(prefix) and q.ready)
        return sorted(names)

    async def publish_topic(self, topic: str, message: QueueMessage, max_backlog: int) -> int:
        subs = self._subs.of(topic)
        if not subs:
            q = self._q(backlog_queue(topic))
            if len(q.ready) >= max_backlog:
                raise BacklogFull(topic, max_backlog)
            self._push(message.copy_to(backlog_queue(topic)))
            return 0
        for function_id in subs:
            self._push(message.copy_to(subscriber_queue(topic, function_id)))
        return len(subs)

    # ------------------------------------------------------------- queues

    async def publish(self, message: QueueMessage) -> None:
        self._push(message)

    def _promote(self, q: _Queue, now: int) -> None:
        while q.delayed and q.delayed[0][0] <= now:
            _, seq, message = heapq.heappop(q.delayed)
            heapq.heappush(q.ready, (seq, message))
        for mid, leased in list(q.leased.items()):
            if leased.lease_until <= now:
                del q.leased[mid]
                heapq.heappush(q.ready, (leased.seq, leased.message))

    def _next_due_s(self, q: _Queue, now: int) -> float | None:
        due = [q.delayed[0][0]] if q.delayed else []
        due.extend(x.lease_until for x in q.leased.values())
        return (min(due) - now) / 1000 if due else None

    async def receive(self, queue: str, max_count: int, lease_ms: int) -> list[Delivery]:
        q = self._q(queue)
        event = self._signals.event(queue)
        while True:
            event.clear()
            now = now_ms()
            self._promote(q, now)
            out: list[Delivery] = []
            while q.ready and len(out) < max_count:
                seq, message = heapq.heappop(q.ready)
                q.leased[message.id] = _Leased(seq, message, now + lease_ms)
                out.append(Delivery(message, seq))
            if out:
                return out
            await self._signals.wait(event, self._next_due_s(q, now))

    def _take(self, delivery: Delivery) -> _Leased | None:
        return self._q(delivery.message.queue).leased.pop(delivery.message.id, None)

    async def ack(self, delivery: Delivery) -> None:
        self._take(delivery)

    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        # keep_place: the heap orders by publish sequence, so a message given back keeps its place.
        leased = self._take(delivery)
        if leased is not None:
            self._push(message, leased.seq, now_ms() + delay_ms)

    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        if self._take(delivery) is not None:
            self._q(dead.message.queue).dead[dead.message.id] = dead

    async def extend(self, deliveries: Sequence[Delivery], lease_ms: int) -> None:
        until = now_ms() + lease_ms
        for d in deliveries:
            leased = self._q(d.message.queue).leased.get(d.message.id)
            if leased is not None:
                leased.lease_until = until

    # ------------------------------------------------------------- inspection and DLQ

    async def stats(self, queue: str) -> QueueStats:
        q = self._queues.get(queue)
        if q is None:
            return QueueStats()
        return QueueStats(len(q.ready), len(q.delayed), len(q.leased), len(q.dead))

    async def dlq_counts(self) -> dict[str, int]:
        return {name: len(q.dead) for name, q in self._queues.items() if q.dead}

    async def dlq_list(self, queues: Sequence[str], offset: int, limit: int) -> list[DeadLetter]:
        rows = [d for name in queues if name in self._queues for d in self._queues[name].dead.values()]
        return newest_first(rows, offset, limit)

    async def redrive(self, queues: Sequence[str], message_id: str | None) -> int:
        count = 0
        for name in queues:
            q = self._queues.get(name)
            if q is None:
                continue
            ids = list(q.dead) if message_id is None else [message_id] if message_id in q.dead else []
            for mid in ids:
                dead = q.dead.pop(mid)
                self._push(dead.redriven())
                count += 1
        return count

    async def discard(self, queues: Sequence[str], message_id: str) -> bool:
        for name in queues:
            q = self._queues.get(name)
            if q is not None and q.dead.pop(message_id, None) is not None:
                return True
        return False
