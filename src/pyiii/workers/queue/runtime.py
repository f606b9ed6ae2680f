"""What the queue worker's parts share: the host, the adapter, the policies, the consumers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from pyiii.core import DEFAULT_NAMESPACE, FunctionError, Host
from pyiii.core import error_codes as E
from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.config import QueueWorkerConfig
from pyiii.workers.queue.consumer import Consumer, ConsumerSettings, FunctionKey
from pyiii.workers.queue.message import named_queue, subscriber_queue
from pyiii.workers.queue.naming import topic_prefix
from pyiii.workers.queue.policy import DeliveryPolicy

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class Subscription:
    binding_id: str
    topic: str
    function_id: str
    namespace: str
    consumer: Consumer

    def same_subscriber(self, other: Subscription) -> bool:
        """Bindings of one function in one namespace share a subscriber queue."""
        return (self.topic, self.function_id, self.namespace) == (other.topic, other.function_id, other.namespace)


@dataclass(slots=True)
class QueueRuntime:
    host: Host
    adapter: QueueAdapter
    config: QueueWorkerConfig
    named: dict[str, DeliveryPolicy] = field(default_factory=dict)
    named_consumers: dict[str, Consumer] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)

    @property
    def settings(self) -> ConsumerSettings:
        c = self.config
        return ConsumerSettings(lease_ms=c.lease_ms, max_interruptions=c.max_interruptions, max_parked=c.max_parked)

    @property
    def call_timeout(self) -> float | None:
        ms = self.config.handler_timeout_ms
        return ms / 1000 if ms is not None else None

    def encode_data(self, function_id: str, data: Any) -> msgspec.Raw:
        """Encode a payload once; unserialisable or oversized data is a typed error."""
        try:
            body = _encoder.encode(data)
        except (TypeError, msgspec.EncodeError, OverflowError) as exc:
            raise FunctionError(E.SERIALIZATION_ERROR, f"{function_id}: data is not JSON-serialisable: {exc}") from None
        if len(body) > self.config.max_message_bytes:
            raise FunctionError("message_too_large", f"{function_id}: data is {len(body)} bytes, the limit is "
                                f"{self.config.max_message_bytes} (max_message_bytes)")
        return msgspec.Raw(body)

    def function_exists(self, key: FunctionKey) -> bool:
        namespace, function_id = key
        return self.host.functions.get(function_id, namespace) is not None

    def payload_for(self, function_id: str, message_data: msgspec.Raw, namespace: str = DEFAULT_NAMESPACE) -> Any:
        """Remote targets get the stored JSON bytes as they are (no decode and re-encode per
        fan-out copy); in-process handlers get Python values."""
        entry = self.host.functions.get(function_id, namespace)
        if entry is not None and entry.handler is None:
            return message_data
        return msgspec.json.decode(message_data) if message_data else None

    async def internal_queues(self, name: str) -> tuple[str, list[str]]:
        """A display name -> ("function_queue" | "topic", its internal queues)."""
        if name in self.named:
            return "function_queue", [named_queue(name)]
        queues = {subscriber_queue(name, sub) for sub in await self.adapter.subscribers(name)}
        prefix = topic_prefix(name)
        queues.update(q for q in await self.adapter.dlq_counts() if q.startswith(prefix))
        return "topic", sorted(queues)

    def consumers_of(self, name: str) -> list[Consumer]:
        if name in self.named_consumers:
            return [self.named_consumers[name]]
        return [s.consumer for s in self.subscriptions.values() if s.topic == name]
