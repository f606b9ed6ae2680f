"""The ``durable:subscriber`` trigger type (and its Motia 1.0 name ``queue``).

Each distinct subscribed function, per namespace, is a durable subscription of the topic with its
own queue ``esc(<topic>::<function_id>)@esc(<namespace>)`` (``naming.subscriber_queue``; spec
iii-0.23-0.25 §1.11); several bindings of the same function in one namespace compete on that queue.
A subscription outlives its worker's disconnect (messages wait for it to come back); it ends
when its last binding is explicitly unregistered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from pyiii.core import Binding, SpanKind, TriggerRegistrationError
from pyiii.workers.queue.consumer import Consumer
from pyiii.workers.queue.message import QueueMessage, subscriber_queue
from pyiii.workers.queue.naming import subscriber_key
from pyiii.workers.queue.policy import subscriber_policy
from pyiii.workers.queue.runtime import QueueRuntime, Subscription

log = logging.getLogger("pyiii.queue")


def topic_of(config: Any) -> str:
    if not isinstance(config, dict):
        raise TriggerRegistrationError("durable:subscriber config must be an object with a `topic`")
    topic = config.get("topic") or config.get("queue")
    if not isinstance(topic, str) or not topic:
        raise TriggerRegistrationError("durable:subscriber needs a non-empty `topic` (or `queue`) in its config")
    return topic


class SubscriberProvider:
    def __init__(self, rt: QueueRuntime) -> None:
        self.rt = rt

    async def register_trigger(self, binding: Binding) -> None:
        config = binding.config
        topic = topic_of(config)
        try:
            policy = subscriber_policy(config.get("queue_config"), self.rt.config)
        except ValueError as exc:
            raise TriggerRegistrationError(str(exc)) from None
        condition = config.get("condition_function_id")
        if condition is not None and not isinstance(condition, str):
            raise TriggerRegistrationError("condition_function_id must be a string")
        key = (binding.namespace, binding.function_id)
        subscriber = subscriber_key(binding.function_id, binding.namespace)
        previous = self.rt.subscriptions.pop(binding.id, None)
        if previous is not None:
            moved_away = (previous.topic, previous.namespace, previous.function_id) != (topic, *key)
            await self._drop(previous, explicit=moved_away)
        try:
            moved = await self.rt.adapter.add_subscriber(topic, subscriber)
        except Exception as exc:
            raise TriggerRegistrationError(f"queue store unavailable: {exc}") from None
        if moved:
            log.info("topic %s: %d backlog message(s) handed to %s (namespace %s)", topic, moved,
                     binding.function_id, binding.namespace)
        consumer = Consumer(
            self.rt.adapter,
            subscriber_queue(topic, subscriber),
            policy,
            self._invoker(binding, topic, condition),
            lambda _m: key,
            self.rt.function_exists,
            self.rt.settings,
            fixed_function=key,
        )
        self.rt.subscriptions[binding.id] = Subscription(binding.id, topic, binding.function_id, binding.namespace,
                                                         consumer)
        consumer.start()

    async def unregister_trigger(self, binding: Binding) -> None:
        sub = self.rt.subscriptions.pop(binding.id, None)
        if sub is not None:
            # A worker that disconnects keeps its durable subscription; an explicit
            # unregister (a connected owner, or an ownerless binding) ends it.
            explicit = binding.owner is None or binding.owner.connected
            await self._drop(sub, explicit)

    async def _drop(self, sub: Subscription, explicit: bool) -> None:
        await sub.consumer.stop()
        siblings = any(s.same_subscriber(sub) for s in self.rt.subscriptions.values())
        if explicit and not siblings:
            try:
                await self.rt.adapter.remove_subscriber(sub.topic, subscriber_key(sub.function_id, sub.namespace))
            except Exception:
                log.exception("topic %s: could not remove subscription of %s", sub.topic, sub.function_id)

    def _invoker(self, binding: Binding, topic: str, condition: str | None) -> Any:
        rt = self.rt
        tracer = rt.host.tracer

        async def deliver(message: QueueMessage, traceparent: str | None) -> None:
            kwargs: dict[str, Any] = {"traceparent": traceparent, "baggage": message.baggage,
                                      "timeout": rt.call_timeout}
            if condition:
                verdict = await rt.host.call_for(binding, condition,
                                                 rt.payload_for(condition, message.data, binding.namespace),
                                                 metadata=binding.metadata, **kwargs)
                if verdict is False:
                    return
            await rt.host.fire(binding, rt.payload_for(binding.function_id, message.data, binding.namespace),
                               **kwargs)

        def invoke(message: QueueMessage) -> Awaitable[Any]:
            if not tracer.enabled:
                if condition:
                    return deliver(message, message.traceparent)  # the publisher's context, as stored
                # the common case hands back the engine's coroutine itself: no frame of ours is
                # resumed at each of the call's awaits (as Host.fire does for HTTP requests)
                return rt.host.fire(binding, rt.payload_for(binding.function_id, message.data, binding.namespace),
                                    traceparent=message.traceparent, baggage=message.baggage,
                                    timeout=rt.call_timeout)
            return traced(message)

        async def traced(message: QueueMessage) -> None:
            # spec/workers.md §8.4: a consumer span per delivery, under the publisher's context.
            with tracer.start_span(f"queue {topic}", SpanKind.CONSUMER, message.traceparent, {
                "iii.trigger.type": binding.trigger_type, "faas.trigger": "pubsub",
                "messaging.system": "iii-queue", "messaging.destination.name": topic,
                "messaging.operation.type": "process", "messaging.message.id": message.id,
                "attempt": message.attempts + 1, "iii.tag.kind": "queue.process",
            }) as span:
                await deliver(message, span.traceparent)

        return invoke
