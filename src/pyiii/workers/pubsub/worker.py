"""``iii-pubsub`` (alias ``pubsub``): function ``publish`` and trigger type ``subscribe``.

Fire-and-forget broadcast: each publish calls every subscribed function once, concurrently,
with the raw ``data``; results are ignored, nothing is stored or retried. Removing one
subscriber leaves the others of the topic subscribed (the reference drops them all).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pyiii.core import Binding, CallContext, FunctionError, Host, SpanKind, TriggerRegistrationError, bad_input
from pyiii.core import error_codes as E
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.pubsub import MANIFEST
from pyiii.workers.pubsub.adapters.base import PubsubAdapter
from pyiii.workers.pubsub.config import PubsubConfig, RedisPubsubConfig

log = logging.getLogger("pyiii.pubsub")
_encoder = msgspec.json.Encoder()


def build_adapter(config: PubsubConfig) -> PubsubAdapter:
    if config.adapter.name == "redis":
        from pyiii.workers.pubsub.adapters.redis import RedisPubsub

        return RedisPubsub(msgspec.convert(config.adapter.config, RedisPubsubConfig))
    from pyiii.workers.pubsub.adapters.local import LocalPubsub

    return LocalPubsub()


class PubsubWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Fire-and-forget publish/subscribe."
    config_type = PubsubConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.adapter = build_adapter(config)
        #: topic -> binding id -> binding (this engine's subscribers)
        self.topics: dict[str, dict[str, Binding]] = {}
        self.delivered = 0

    async def start(self) -> None:
        await self.adapter.start(self._deliver)
        if self.adapter.remote_kind is not None:  # a server that can go away: /readyz reports it
            self.host.add_health_check(f"{self.entry_id}:{self.adapter.remote_kind}", self.adapter.ping)
        self.host.register_function("publish", self._publish, worker=self.entry_id,
                                      description="Broadcast {topic, data} to every subscriber")
        await self.host.register_trigger_type("subscribe", self, worker=self.kind,
                                                description="Called with `data` of every publish to {topic}")

    async def stop(self) -> None:
        await self.adapter.close()

    # ------------------------------------------------------------- trigger provider

    async def register_trigger(self, binding: Binding) -> None:
        config = binding.config if isinstance(binding.config, dict) else {}
        topic = config.get("topic")
        if not isinstance(topic, str) or not topic:
            raise TriggerRegistrationError("subscribe needs a non-empty `topic` in its config")
        await self._remove(binding.id)  # a re-registration replaces
        subs = self.topics.setdefault(topic, {})
        first = not subs
        subs[binding.id] = binding
        if first:
            try:
                await self.adapter.subscribe(topic)
            except Exception as exc:
                del subs[binding.id]
                if not subs:
                    del self.topics[topic]
                raise TriggerRegistrationError(f"pubsub adapter could not subscribe: {exc}") from None

    async def unregister_trigger(self, binding: Binding) -> None:
        await self._remove(binding.id)

    async def _remove(self, binding_id: str) -> None:
        for topic, subs in list(self.topics.items()):
            if subs.pop(binding_id, None) is not None and not subs:
                del self.topics[topic]
                try:
                    await self.adapter.unsubscribe(topic)
                except Exception:
                    log.exception("pubsub adapter could not unsubscribe %s", topic)

    # ------------------------------------------------------------- publish / deliver

    async def _publish(self, data: Any, ctx: CallContext) -> None:
        if not isinstance(data, dict):
            raise bad_input(ctx.function_id, "expected an object {topic, data}")
        topic = data.get("topic")
        if not isinstance(topic, str) or not topic:
            raise FunctionError("topic_not_set", "Topic is not set")
        try:
            body = _encoder.encode(data.get("data"))
        except (TypeError, msgspec.EncodeError, OverflowError) as exc:
            raise FunctionError(E.SERIALIZATION_ERROR, f"publish: data is not JSON-serialisable: {exc}") from None
        if len(body) > self.config.max_message_bytes:
            raise FunctionError("message_too_large", f"publish: data is {len(body)} bytes, the limit is "
                                f"{self.config.max_message_bytes} (max_message_bytes)")
        try:
            await self.adapter.publish(topic, body, ctx.traceparent, ctx.baggage)
        except Exception as exc:
            raise FunctionError("publish_failed", f"pubsub adapter could not publish: {exc}") from None

    def _deliver(self, topic: str, body: bytes, traceparent: str | None = None, baggage: str | None = None) -> None:
        subs = self.topics.get(topic)
        if not subs:
            return
        tracer = self.host.tracer
        if not tracer.enabled:
            self._send(subs, body, traceparent, baggage)
            return
        # One consumer span per delivered publish; the subscribers' calls are its children
        # (they run on after it ends: fire-and-forget).
        with tracer.start_span(f"pubsub {topic}", SpanKind.CONSUMER, traceparent, {
            "iii.trigger.type": "subscribe", "faas.trigger": "pubsub", "messaging.system": "iii-pubsub",
            "messaging.destination.name": topic, "messaging.operation.type": "process",
            "subscriber_count": len(subs)}) as span:
            self._send(subs, body, span.traceparent, baggage)

    def _send(self, subs: dict[str, Binding], body: bytes, traceparent: str | None, baggage: str | None) -> None:
        raw = msgspec.Raw(body)
        decoded: Any = ...
        for binding in list(subs.values()):
            entry = self.host.functions.get(binding.function_id, binding.namespace)
            if entry is not None and entry.handler is None:
                payload: Any = raw  # remote: forward the bytes, no re-encoding per subscriber
            else:
                if decoded is ...:
                    decoded = msgspec.json.decode(body)
                payload = decoded
            self.delivered += 1
            self.host.call_void(binding.function_id, payload, metadata=binding.metadata, traceparent=traceparent,
                                  baggage=baggage)
