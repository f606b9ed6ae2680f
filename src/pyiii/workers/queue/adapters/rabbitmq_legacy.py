"""The move of a pre-namespace subscriber queue on RabbitMQ (spec iii-0.23-0.25 §1.11 says the
reference does not move them; pyiii does, so an upgrade strands nothing).

AMQP cannot rename a queue, and a broker cannot be asked which queues exist, so the move happens
when a ``default`` subscriber binds (every start re-binds its subscriptions): if the old queue
``<prefix>.<topic>::<fid>`` exists, it is unbound from the topic's exchange (no new copies go
there; the new queue is already bound), its messages are moved one by one into the new queue
(published with a publisher confirm, then acked: at least once, so a crash between the two can
repeat one message, never lose it) and so are its dead letters, into the new ``.dlq``. The old
dead-letter queue is then deleted. The old main queue is kept while the engine runs, with a
consumer that forwards what still arrives: retries scheduled before the upgrade expire from their
retry queues back into it (up to ``max_backoff_ms`` later). Delete it once that time has passed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import zlib
from collections.abc import Callable

import aio_pika
import msgspec
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from pyiii.workers.queue.adapters.base import LegacyMove
from pyiii.workers.queue.message import decode_dead, decode_message, encode_dead, encode_message

log = logging.getLogger("pyiii.queue")
#: The names aio-pika accepts; an old name outside them could not have been created.
_AMQP_NAME = re.compile(r"[a-zA-Z0-9-_.:@#,/+ ]*")
Rewrite = Callable[[AbstractIncomingMessage], bytes]


class LegacyQueueMove:
    """Moves one old subscriber queue into ``target`` and forwards what arrives there later."""

    def __init__(self, conn: AbstractRobustConnection, publisher: AbstractChannel, prefix: str) -> None:
        self.conn = conn
        self.publisher = publisher
        self.prefix = prefix
        #: channels of the forwarding consumers (closed with the adapter)
        self.forwarders: list[AbstractChannel] = []

    async def move(self, topic: str, function_id: str, target: str, target_main: str,
                   target_dlq: str) -> LegacyMove | None:
        old = f"{topic}::{function_id}"
        old_main, old_dlq = f"{self.prefix}.{old}", f"{self.prefix}.{old}.dlq"
        if not _AMQP_NAME.fullmatch(old_main):
            return None
        channel = await self.conn.channel()
        queue = await _existing(channel, old_main)
        if queue is None:
            return None
        await self._unbind(old_main, f"{self.prefix}.{topic}.exchange")
        main_rewrite = _message_rewrite(old, target)
        messages = await self._drain(queue, target_main, main_rewrite)
        dead = 0
        dlq_channel = await self.conn.channel()
        dlq = await _existing(dlq_channel, old_dlq)
        if dlq is not None:
            dead = await self._drain(dlq, target_dlq, _dead_rewrite(target))
            with contextlib.suppress(Exception):
                await dlq.delete(if_unused=False, if_empty=True)
        with contextlib.suppress(Exception):
            await dlq_channel.close()
        await self._forward(channel, queue, target_main, main_rewrite)
        return LegacyMove(old, target, messages, dead)

    async def close(self) -> None:
        for channel in self.forwarders:
            with contextlib.suppress(Exception):
                await channel.close()
        self.forwarders.clear()

    async def _unbind(self, queue_name: str, exchange: str) -> None:
        channel = await self.conn.channel()  # a failed unbind closes its channel
        try:
            queue = await channel.declare_queue(queue_name, passive=True)
            await queue.unbind(exchange)
        except Exception as exc:
            log.warning("rabbitmq queue: could not unbind the old queue %s from %s: %s", queue_name, exchange, exc)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def _send(self, routing_key: str, body: bytes) -> None:
        await self.publisher.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=routing_key)

    async def _drain(self, queue: AbstractQueue, routing_key: str, rewrite: Rewrite) -> int:
        moved = 0
        while (msg := await queue.get(no_ack=False, fail=False)) is not None:
            await self._send(routing_key, rewrite(msg))  # confirmed before the old copy goes
            await msg.ack()
            moved += 1
        return moved

    async def _forward(self, channel: AbstractChannel, queue: AbstractQueue, routing_key: str,
                       rewrite: Rewrite) -> None:
        async def forward(msg: AbstractIncomingMessage) -> None:
            try:
                await self._send(routing_key, rewrite(msg))
            except Exception as exc:  # not lost: unacked, it goes back to the old queue
                log.warning("rabbitmq queue: forwarding from %s failed: %s", queue.name, exc)
                return
            await msg.ack()

        await queue.consume(forward, no_ack=False)
        self.forwarders.append(channel)


async def _existing(channel: AbstractChannel, name: str) -> AbstractQueue | None:
    try:
        return await channel.declare_queue(name, passive=True)
    except Exception:  # not found: the broker closed the channel
        return None


def _message_rewrite(old: str, target: str) -> Rewrite:
    suffix = f"-{zlib.crc32(old.encode()):08x}"

    def rewrite(msg: AbstractIncomingMessage) -> bytes:
        message = decode_message(msg.body)
        if msg.headers.get("c"):
            # a fan-out copy had the id receive() derived from its queue: keep that id
            message = msgspec.structs.replace(message, id=message.id + suffix)
        return encode_message(msgspec.structs.replace(message, queue=target))

    return rewrite


def _dead_rewrite(target: str) -> Rewrite:
    def rewrite(msg: AbstractIncomingMessage) -> bytes:
        try:
            dead = decode_dead(msg.body)
        except msgspec.DecodeError:  # rejected by the broker itself: a bare message
            return encode_message(msgspec.structs.replace(decode_message(msg.body), queue=target))
        return encode_dead(msgspec.structs.replace(dead, message=msgspec.structs.replace(dead.message, queue=target)))

    return rewrite
