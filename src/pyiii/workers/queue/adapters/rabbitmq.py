"""RabbitMQ adapter (aio-pika): the broker does the storage, the fan-out and the redelivery.

* a topic is a durable fanout exchange ``<prefix>.<topic>.exchange``; each subscribed function
  has a durable queue bound to it, so the broker copies every publish to every subscriber; a
  publish with no bound queue goes to the exchange's alternate exchange, into the topic backlog
  queue, which is drained into the next subscriber that binds;
* every publish waits for the publisher confirm (the message is on the broker) before it is
  acknowledged to the caller; messages are persistent, queues durable;
* consumers use manual ack with a prefetch of twice the subscriber's concurrency (at least
  ``prefetch_count``); an unacked message goes back to the queue when the engine's connection
  drops (a crashed engine loses nothing). The acks of one event-loop turn are coalesced: an
  unbroken run from the oldest unacked delivery goes out as one ``basic.ack(multiple)``, the
  others one by one;
* a retry is published to ``<queue>.retry.<delay_ms>``, a queue with that TTL whose dead-letter
  exchange routes back to the main queue (one queue per distinct delay, so expiry stays in order;
  unused ones expire); the original is acked after the confirm. The broker's expiry is the source
  of truth; the engine that scheduled a retry also arms a timer shortly before its due time that
  takes the head of that retry queue (basic.get, unacked) and hands it to the consumer at the due
  time in its ``iii-due`` header, saving the expiry and dead-letter hops; if that engine dies
  first, the message goes back to the retry queue and expires into the main queue;
* dead letters: the main queue's dead-letter exchange routes rejected messages to
  ``<queue>.dlq``; the consumer publishes a record with the error there and acks the original.
  Listing and redriving read the DLQ with basic.get and return what they do not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Sequence
from typing import Any

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from pyiii.core import DEFAULT_NAMESPACE
from pyiii.urls import without_credentials
from pyiii.workers.queue.adapter_config import RabbitConfig
from pyiii.workers.queue.adapters.amqp_acks import ChannelAcks
from pyiii.workers.queue.adapters.amqp_names import amqp_name
from pyiii.workers.queue.adapters.base import BacklogFull, LegacyMove, QueueAdapter
from pyiii.workers.queue.adapters.batching import GroupCommit
from pyiii.workers.queue.adapters.rabbitmq_legacy import LegacyQueueMove
from pyiii.workers.queue.adapters.subscribers import TopicSubscribers
from pyiii.workers.queue.legacy_moves import report_legacy_moves
from pyiii.workers.queue.message import (
    DeadLetter,
    Delivery,
    QueueMessage,
    QueueStats,
    backlog_queue,
    decode_dead,
    decode_message,
    encode_dead,
    encode_message,
    newest_first,
    now_ms,
    subscriber_queue,
)
from pyiii.workers.queue.naming import split_ns

log = logging.getLogger("pyiii.queue")
PERSISTENT = aio_pika.DeliveryMode.PERSISTENT
#: A retry queue expires 60 s after its last declaration; declaring it again after half of that
#: keeps a cached name from pointing at an expired queue (a publish there would be dropped).
_REDECLARE_S = 30.0
#: How long before a retry is due its engine takes it from the retry queue (basic.get, held
#: unacked until the due time), so slow broker round trips (a burst of failures makes a burst
#: of gets) do not make it late; at most half the delay.
_FETCH_LEAD_MS = 100
#: basic.get is one request at a time per channel: a few channels fetch a burst in parallel.
_GET_CHANNELS = 4


def _live(msg: AbstractIncomingMessage) -> bool:
    """False for a message whose channel closed (a reconnect) while it waited in an inbox: the
    broker has already put it back in its queue, so running it would only run it twice."""
    try:
        msg.channel  # noqa: B018 (the property raises once the channel is closed)
    except Exception:
        return False
    return True


class RabbitAdapter(QueueAdapter):
    broker_type = "rabbitmq"
    remote_kind = "rabbitmq"

    def __init__(self, config: RabbitConfig) -> None:
        self.config = config
        self.p = config.name_prefix
        self.description = f"RabbitMQ {without_credentials(config.amqp_url)}"
        self._conn: AbstractRobustConnection | None = None
        self._pub: AbstractChannel | None = None
        self._declared: set[str] = set()
        self._subs = TopicSubscribers()
        #: topics this engine published to without a known subscriber (listed while backlogged)
        self._backlogged: set[str] = set()
        self._inbox: dict[str, asyncio.Queue[AbstractIncomingMessage]] = {}
        self._consumer_channels: dict[str, AbstractChannel] = {}
        self._lock = asyncio.Lock()
        self._exchanges: dict[str, Any] = {}
        #: deliveries handed to consumers and not settled yet, per queue
        self._unacked: dict[str, int] = {}
        #: delivery-tag bookkeeping of each queue's current consumer channel
        self._acks: dict[str, ChannelAcks] = {}
        self._ack_batches: GroupCommit[tuple[str, AbstractIncomingMessage]] = GroupCommit(self._flush_acks)
        #: retry queue name -> monotonic time it was last declared
        self._retry_queues: dict[str, float] = {}
        #: due-time timers of the retries this engine published
        self._retry_timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_seq = 0
        self._fetches: set[asyncio.Task[None]] = set()
        #: channels for basic.get of due retries (their unacked messages go back to the retry
        #: queue, already expired, if they close)
        self._get_channels: list[AbstractChannel | None] = [None] * _GET_CHANNELS
        self._get_turn = 0
        self._get_open = asyncio.Lock()
        #: move pre-namespace subscriber queues when their subscriber binds (config switch)
        self._move_legacy = False
        self._legacy: LegacyQueueMove | None = None
        self._legacy_checked: set[tuple[str, str]] = set()

    # names
    def _q(self, queue: str) -> str:
        return amqp_name(f"{self.p}.{queue}")

    def _dlq(self, queue: str) -> str:
        return amqp_name(f"{self.p}.{queue}.dlq")

    def _exchange(self, topic: str) -> str:
        return amqp_name(f"{self.p}.{topic}.exchange")

    @property
    def channel(self) -> AbstractChannel:
        assert self._pub is not None, "adapter not started"
        return self._pub

    async def start(self) -> None:
        self._conn = await aio_pika.connect_robust(self.config.amqp_url)
        self._pub = await self._conn.channel(publisher_confirms=True)

    async def ping(self) -> None:
        # No round trip: the robust connection knows whether it is (re)connected.
        if self._conn is None or self._conn.is_closed or not self._conn.connected.is_set():
            raise ConnectionError("not connected to RabbitMQ (reconnecting)")

    async def close(self) -> None:
        for handle in self._retry_timers.values():
            handle.cancel()
        self._retry_timers.clear()
        for task in list(self._fetches):
            task.cancel()
        await self._ack_batches.drain()
        if self._legacy is not None:
            await self._legacy.close()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def _declare(self, queue: str, channel: AbstractChannel | None = None) -> AbstractQueue:
        ch = channel or self.channel
        if queue not in self._declared:
            await ch.declare_queue(self._dlq(queue), durable=True)
        declared = await ch.declare_queue(self._q(queue), durable=True, arguments={
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": self._dlq(queue)})
        self._declared.add(queue)
        return declared

    async def _topic_exchange(self, topic: str) -> Any:
        if topic in self._exchanges:
            return self._exchanges[topic]
        backlog = backlog_queue(topic)
        ax_name = f"{self._exchange(topic)}.unrouted"
        ax = await self.channel.declare_exchange(ax_name, aio_pika.ExchangeType.FANOUT, durable=True)
        backlog_q = await self._declare(backlog)
        await backlog_q.bind(ax)
        exchange = await self.channel.declare_exchange(self._exchange(topic), aio_pika.ExchangeType.FANOUT,
                                                       durable=True, arguments={"alternate-exchange": ax_name})
        self._exchanges[topic] = exchange
        return exchange

    def _message(self, body: bytes, copy: bool = False, expiration_ms: int | None = None,
                 due_ms: int | None = None) -> aio_pika.Message:
        headers: dict[str, Any] | None = None
        if copy:
            headers = {"c": 1}
        elif due_ms is not None:
            headers = {"iii-due": due_ms}
        return aio_pika.Message(body, delivery_mode=PERSISTENT, headers=headers,
                                expiration=expiration_ms / 1000 if expiration_ms is not None else None)

    async def _send(self, queue: str, body: bytes) -> None:
        if queue not in self._declared:
            await self._declare(queue)
        await self.channel.default_exchange.publish(self._message(body), routing_key=self._q(queue))

    # ------------------------------------------------------------- topics

    async def add_subscriber(self, topic: str, subscriber: str) -> int:
        target = subscriber_queue(topic, subscriber)
        async with self._lock:
            exchange = await self._topic_exchange(topic)
            queue = await self._declare(target)
            await queue.bind(exchange)
            self._subs.add(topic, subscriber)
            backlog = await self._declare(backlog_queue(topic))
            moved = 0
            while (msg := await backlog.get(no_ack=False, fail=False)) is not None:
                copy = decode_message(msg.body).copy_to(target)
                await self._send(target, encode_message(copy))
                await msg.ack()
                moved += 1
            await self._move_legacy_of(topic, subscriber, target)
        return moved

    async def move_legacy_subscriber_queues(self) -> list[LegacyMove]:
        # The broker cannot list its queues: each one moves when its subscriber binds.
        self._move_legacy = True
        return []

    async def _move_legacy_of(self, topic: str, subscriber: str, target: str) -> None:
        split = split_ns(subscriber)
        if not self._move_legacy or split is None or split[1] != DEFAULT_NAMESPACE:
            return
        if (topic, subscriber) in self._legacy_checked:
            return
        self._legacy_checked.add((topic, subscriber))
        assert self._conn is not None
        if self._legacy is None:
            self._legacy = LegacyQueueMove(self._conn, self.channel, self.p)
        await self._declare(target)  # its .dlq too
        move = await self._legacy.move(topic, split[0], target, self._q(target), self._dlq(target))
        if move is not None:
            report_legacy_moves([move])

    async def remove_subscriber(self, topic: str, subscriber: str) -> None:
        self._subs.remove(topic, subscriber)
        queue = await self._declare(subscriber_queue(topic, subscriber))
        await queue.unbind(self._exchange(topic))

    async def subscribers(self, topic: str) -> list[str]:
        return self._subs.of(topic)

    async def topics(self) -> list[str]:
        """Topics subscribed through this engine, and topics whose backlog this engine filled
        while it is not empty (the broker cannot list exchange bindings over AMQP)."""
        names = self._subs.topics()
        for topic in sorted(self._backlogged - names):
            if await self._backlog_depth(topic):
                names.add(topic)
            else:
                self._backlogged.discard(topic)
        return sorted(names)

    async def _backlog_depth(self, topic: str) -> int:
        declared = await self._declare(backlog_queue(topic))
        return declared.declaration_result.message_count or 0

    async def publish_topic(self, topic: str, message: QueueMessage, max_backlog: int) -> int:
        exchange = await self._topic_exchange(topic)
        subscribers = len(self._subs.of(topic))
        if not subscribers:
            # No subscriber known here: the broker will route it to the backlog unless another
            # engine bound one (then the backlog is empty, the first subscriber drained it). One
            # more round trip, only for topics without a subscriber on this engine; concurrent
            # publishes may pass the check together (the bound is approximate by that much).
            if await self._backlog_depth(topic) >= max_backlog:
                raise BacklogFull(topic, max_backlog)
            self._backlogged.add(topic)
        await exchange.publish(self._message(encode_message(message), copy=True), routing_key="")
        return subscribers

    # ------------------------------------------------------------- queues

    async def publish(self, message: QueueMessage) -> None:
        await self._send(message.queue, encode_message(message))

    async def _inbox_of(self, queue: str, prefetch: int) -> asyncio.Queue[AbstractIncomingMessage]:
        inbox = self._inbox.get(queue)
        if inbox is not None:
            return inbox
        assert self._conn is not None
        channel = await self._conn.channel()
        await channel.set_qos(prefetch_count=max(prefetch, 1))
        declared = await self._declare(queue, channel)
        inbox = self._inbox[queue] = asyncio.Queue()
        self._consumer_channels[queue] = channel

        async def on_message(msg: AbstractIncomingMessage) -> None:
            # Tags are recorded in arrival order (no await before this), which is tag order.
            ch = msg.channel
            acks = self._acks.get(queue)
            if acks is None or acks.channel is not ch:  # first delivery, or after a reconnect
                acks = self._acks[queue] = ChannelAcks(ch)
            if msg.delivery_tag is not None:
                acks.delivered(msg.delivery_tag)
            inbox.put_nowait(msg)

        await declared.consume(on_message, no_ack=False)
        return inbox

    def _delivery(self, queue: str, msg: AbstractIncomingMessage) -> Delivery:
        message = decode_message(msg.body)
        if msg.headers.get("c"):
            message = msgspec.structs.replace(message, id=f"{message.id}-{zlib.crc32(queue.encode()):08x}")
        message.queue = queue
        self._unacked[queue] = self._unacked.get(queue, 0) + 1
        return Delivery(message, msg)

    def _settled(self, delivery: Delivery) -> None:
        queue = delivery.message.queue
        self._unacked[queue] = max(self._unacked.get(queue, 0) - 1, 0)

    async def receive(self, queue: str, max_count: int, lease_ms: int) -> list[Delivery]:
        # The first call asks for the consumer's concurrency. Prefetching twice that keeps the next
        # messages on hand while acks travel to the broker (prefetched ones count as in flight).
        inbox = await self._inbox_of(queue, max(2 * max_count, self.config.prefetch_count))
        out: list[Delivery] = []
        while not out:
            msg = await inbox.get()
            if _live(msg):
                out.append(self._delivery(queue, msg))
        while len(out) < max_count and not inbox.empty():
            msg = inbox.get_nowait()
            if _live(msg):
                out.append(self._delivery(queue, msg))
        return out

    async def _flush_acks(self, batch: list[tuple[str, AbstractIncomingMessage]]) -> list[Exception | None]:
        errors: list[Exception | None] = [None] * len(batch)
        by_queue: dict[str, list[int]] = {}
        for i, (queue, msg) in enumerate(batch):
            acks = self._acks.get(queue)
            try:
                current = acks is not None and msg.channel is acks.channel and msg.delivery_tag is not None
            except Exception as exc:  # its channel is closed: the broker gives the message back
                errors[i] = exc
                continue
            if current:
                by_queue.setdefault(queue, []).append(i)
            else:
                try:
                    await msg.ack()
                except Exception as exc:
                    errors[i] = exc
        for queue, idx in by_queue.items():
            acks = self._acks[queue]
            top, singles = acks.plan([batch[i][1].delivery_tag or 0 for i in idx])
            try:
                if top is not None:
                    await acks.channel.basic_ack(delivery_tag=top, multiple=True)
                for tag in singles:
                    await acks.channel.basic_ack(delivery_tag=tag)
            except Exception as exc:
                for i in idx:
                    errors[i] = exc
        return errors

    async def _ack(self, delivery: Delivery) -> None:
        try:
            await self._ack_batches.submit((delivery.message.queue, delivery.handle))
        finally:
            # a failed ack (its channel closed) leaves the message to the broker, not to us
            self._settled(delivery)

    async def ack(self, delivery: Delivery) -> None:
        await self._ack(delivery)

    async def _retry_queue(self, queue: str, delay_ms: int) -> str:
        name = f"{self._q(queue)}.retry.{delay_ms}"
        now = time.monotonic()
        if now - self._retry_queues.get(name, -_REDECLARE_S) < _REDECLARE_S:
            return name
        await self.channel.declare_queue(name, durable=True, arguments={
            "x-message-ttl": delay_ms, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": self._q(queue),
            "x-expires": delay_ms + 60_000})
        self._retry_queues[name] = now
        return name

    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        # keep_place: a queue only appends; a message given back goes to the end either way.
        body = encode_message(message)
        if delay_ms > 0:
            loop = asyncio.get_running_loop()
            due = loop.time() + delay_ms / 1000
            due_ms = now_ms() + delay_ms
            name = await self._retry_queue(message.queue, delay_ms)
            await self.channel.default_exchange.publish(self._message(body, due_ms=due_ms), routing_key=name)
            if message.queue in self._inbox:
                lead = min(_FETCH_LEAD_MS, delay_ms // 2) / 1000  # the broker expires it anyway
                self._timer_seq += 1
                self._retry_timers[self._timer_seq] = loop.call_at(max(due - lead, loop.time()),
                                                                   self._fetch_due_soon, self._timer_seq,
                                                                   message.queue, name)
        else:
            await self._send(message.queue, body)
        await self._ack(delivery)

    def _fetch_due_soon(self, key: int, queue: str, retry_queue: str) -> None:
        self._retry_timers.pop(key, None)
        task = asyncio.create_task(self._fetch_due(queue, retry_queue))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _fetch_due(self, queue: str, retry_queue: str) -> None:
        """A retry this engine scheduled is (nearly) due: take the head of its retry queue and
        put it in the consumer's inbox at its due time, instead of waiting for the broker's
        expiry and dead-letter hop. The head is that retry or an older one of the same delay."""
        inbox = self._inbox.get(queue)
        if inbox is None or self._conn is None:
            return
        slot = self._get_turn = (self._get_turn + 1) % _GET_CHANNELS
        try:
            async with self._get_open:
                channel = self._get_channels[slot]
                if channel is None or channel.is_closed:
                    channel = self._get_channels[slot] = await self._conn.channel()
            q = aio_pika.Queue(channel, retry_queue, durable=True, exclusive=False, auto_delete=False, arguments=None)
            msg = await q.get(no_ack=False, fail=False)
            if msg is None:
                return  # the broker expired it first (or another engine took it)
            due = msg.headers.get("iii-due")
            wait_ms = due - now_ms() if isinstance(due, int) else 0
            if wait_ms > 2 * _FETCH_LEAD_MS:
                # a later retry (ours expired meanwhile): back to its place, with its own expiry
                await msg.nack(requeue=True)
                return
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
            inbox.put_nowait(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Not lost: the message stays in (or returns to) the retry queue and expires into the
            # main queue. A closed channel is reopened by the next fetch; an open one is kept, as
            # closing it would hand back the retries other fetches hold until their due time.
            log.warning("rabbitmq queue: fetching a due retry from %s failed: %s", retry_queue, exc)

    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        await self.channel.default_exchange.publish(self._message(encode_dead(dead)),
                                                    routing_key=self._dlq(dead.message.queue))
        await self._ack(delivery)

    async def extend(self, deliveries: Sequence[Delivery], lease_ms: int) -> None:
        return None  # unacked messages stay with this connection until it closes

    # ------------------------------------------------------------- inspection and DLQ

    async def stats(self, queue: str) -> QueueStats:
        main = await self._declare(queue)
        assert self._conn is not None
        dlq = await self.channel.declare_queue(self._dlq(queue), durable=True)
        inbox = self._inbox.get(queue)
        # prefetched messages still in our inbox are on their way to a handler: count as in flight
        in_flight = self._unacked.get(queue, 0) + (inbox.qsize() if inbox else 0)
        waiting = main.declaration_result.message_count or 0
        return QueueStats(waiting=waiting, in_flight=in_flight,
                          dead=dlq.declaration_result.message_count or 0)

    async def dlq_counts(self) -> dict[str, int]:
        out = {}
        for queue in sorted(self._declared):
            dlq = await self.channel.declare_queue(self._dlq(queue), durable=True)
            if dlq.declaration_result.message_count:
                out[queue] = dlq.declaration_result.message_count
        return out

    async def _read_dlq(self, queue: str) -> tuple[AbstractChannel, list[tuple[AbstractIncomingMessage, DeadLetter]]]:
        """Take every dead letter without acking; closing the channel gives back the rest."""
        assert self._conn is not None
        channel = await self._conn.channel()
        dlq = await channel.declare_queue(self._dlq(queue), durable=True)
        rows = []
        while (msg := await dlq.get(no_ack=False, fail=False)) is not None:
            try:
                dead = decode_dead(msg.body)
            except msgspec.DecodeError:  # rejected by the broker itself (no record of ours)
                dead = DeadLetter(message=decode_message(msg.body), error="rejected", failed_at=now_ms())
            rows.append((msg, dead))
        return channel, rows

    async def dlq_list(self, queues: Sequence[str], offset: int, limit: int) -> list[DeadLetter]:
        out: list[DeadLetter] = []
        for queue in queues:
            channel, rows = await self._read_dlq(queue)
            out.extend(d for _, d in rows)
            await channel.close()
        return newest_first(out, offset, limit)

    async def redrive(self, queues: Sequence[str], message_id: str | None) -> int:
        count = 0
        for queue in queues:
            channel, rows = await self._read_dlq(queue)
            for msg, dead in rows:
                if message_id is None or dead.message.id == message_id:
                    fresh = dead.redriven()
                    await self._send(queue, encode_message(fresh))
                    await msg.ack()
                    count += 1
            await channel.close()
        return count

    async def discard(self, queues: Sequence[str], message_id: str) -> bool:
        for queue in queues:
            channel, rows = await self._read_dlq(queue)
            found = next((m for m, d in rows if d.message.id == message_id), None)
            if found is not None:
                await found.ack()
            await channel.close()
            if found is not None:
                return True
        return False
