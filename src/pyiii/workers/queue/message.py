"""What a queue stores: a message, a delivery of it, a dead letter, and the internal names."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from pyiii.core import DEFAULT_NAMESPACE
from pyiii.workers.queue.naming import BACKLOG_PREFIX as BACKLOG_PREFIX
from pyiii.workers.queue.naming import NAMED_PREFIX as NAMED_PREFIX
from pyiii.workers.queue.naming import namespace_of
from pyiii.workers.queue.naming import subscriber_queue as subscriber_queue


def now_ms() -> int:
    return int(time.time() * 1000)


def named_queue(name: str) -> str:
    return f"{NAMED_PREFIX}{name}"


def backlog_queue(topic: str) -> str:
    return f"{BACKLOG_PREFIX}{topic}"


def display_name(queue: str) -> str:
    return queue.removeprefix(NAMED_PREFIX).removeprefix(BACKLOG_PREFIX)


class QueueMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One stored message. ``data`` is the JSON-encoded payload, encoded once at publish time
    and shared by every fan-out copy."""

    id: str
    queue: str
    data: msgspec.Raw
    created_at: int
    #: Failed handler attempts so far (what max_attempts counts).
    attempts: int = 0
    #: Deliveries cut short by a worker disconnect (not counted as attempts; see README).
    interruptions: int = 0
    function_id: str | None = None
    group_id: str | None = None
    traceparent: str | None = None
    baggage: str | None = None
    message_id: str | None = None
    topic: str | None = None
    #: The namespace ``function_id`` runs in (iii 0.23+: captured at enqueue; absent: default).
    namespace: str | None = None

    def copy_to(self, queue: str) -> QueueMessage:
        return msgspec.structs.replace(self, id=str(uuid.uuid4()), queue=queue)

    def decoded_data(self) -> Any:
        return msgspec.json.decode(self.data) if self.data else None

    def job(self, max_attempts: int | None = None, backoff_ms: int | None = None) -> dict[str, Any]:
        """The reference's ``Job`` shape (spec §8.5)."""
        return {
            "id": self.id,
            "queue": self.queue,
            "data": self.decoded_data(),
            "attempts_made": self.attempts,
            "max_attempts": max_attempts,
            "backoff_delay_ms": backoff_ms,
            "created_at": self.created_at,
            "group_id": self.group_id,
            "traceparent": self.traceparent,
            "baggage": self.baggage,
            "function_id": self.function_id,
            "message_id": self.message_id,
            **({"namespace": self.namespace} if self.namespace is not None else {}),
        }

    def runs_in(self) -> str:
        """The namespace its function runs in: the enqueuer's, or the one its subscriber queue
        names, else ``default``."""
        return self.namespace or namespace_of(self.queue) or DEFAULT_NAMESPACE


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(QueueMessage)


def encode_message(message: QueueMessage) -> bytes:
    return _encoder.encode(message)


def decode_message(body: bytes) -> QueueMessage:
    return _decoder.decode(body)


class DeadLetter(msgspec.Struct, kw_only=True):
    """A message that used up its attempts (or was interrupted too often)."""

    message: QueueMessage
    error: str
    failed_at: int  # epoch ms

    def redriven(self) -> QueueMessage:
        """The message sent back to its queue by a redrive: with every attempt available again."""
        return msgspec.structs.replace(self.message, attempts=0, interruptions=0)

    def row(self) -> dict[str, Any]:
        """``engine::queue::dlq_messages`` row (failed_at in epoch seconds, as the reference)."""
        return {
            "id": self.message.id,
            "payload": self.message.decoded_data(),
            "error": self.error,
            "failed_at": self.failed_at // 1000,
            "retries": self.message.attempts,
            "size_bytes": len(self.message.data),
            "queue": display_name(self.message.queue),
            "function_id": self.message.function_id,
            "namespace": self.message.runs_in(),
        }


def newest_first(dead: list[DeadLetter], offset: int, limit: int) -> list[DeadLetter]:
    """One page of ``engine::queue::dlq_messages``: the most recent failure first."""
    dead.sort(key=lambda d: d.failed_at, reverse=True)
    return dead[offset: offset + limit]


_dead_encoder = msgspec.json.Encoder()
_dead_decoder = msgspec.json.Decoder(DeadLetter)


def encode_dead(dead: DeadLetter) -> bytes:
    return _dead_encoder.encode(dead)


def decode_dead(body: bytes) -> DeadLetter:
    return _dead_decoder.decode(body)


def moved_message(body: bytes, target: str) -> bytes:
    """A stored message re-pointed at queue ``target`` (it names its queue: a retry is written
    back there). A body that does not decode moves as it is: it fails where it would have
    failed before, and is not lost."""
    try:
        return encode_message(msgspec.structs.replace(decode_message(body), queue=target))
    except msgspec.DecodeError:
        return body


def moved_dead(body: bytes, target: str) -> bytes:
    """A stored dead letter re-pointed at queue ``target`` (as :func:`moved_message`)."""
    try:
        dead = decode_dead(body)
    except msgspec.DecodeError:
        return body
    return encode_dead(msgspec.structs.replace(dead, message=msgspec.structs.replace(dead.message, queue=target)))


@dataclass(slots=True)
class Delivery:
    """A message handed to a consumer; ``handle`` is the adapter's receipt for it."""

    message: QueueMessage
    handle: Any = None


@dataclass(slots=True)
class QueueStats:
    waiting: int = 0
    delayed: int = 0
    in_flight: int = 0
    dead: int = 0

    def __add__(self, other: QueueStats) -> QueueStats:
        return QueueStats(self.waiting + other.waiting, self.delayed + other.delayed,
                          self.in_flight + other.in_flight, self.dead + other.dead)
