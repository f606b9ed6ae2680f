"""``iii-queue`` (alias ``queue``): durable topics, named queues, dead letters (spec §8)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pyiii.core import DEFAULT_NAMESPACE, Host, SpanKind
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.queue import MANIFEST, adapters
from pyiii.workers.queue.config import QueueWorkerConfig
from pyiii.workers.queue.consumer import Consumer, FunctionKey
from pyiii.workers.queue.inspection import Inspector
from pyiii.workers.queue.legacy_moves import report_legacy_moves
from pyiii.workers.queue.message import QueueMessage, named_queue
from pyiii.workers.queue.policy import named_policy
from pyiii.workers.queue.publishing import Publisher
from pyiii.workers.queue.runtime import QueueRuntime
from pyiii.workers.queue.subscriptions import SubscriberProvider

if TYPE_CHECKING:
    from pyiii.workers.queue.bridge import BridgedQueue

log = logging.getLogger("pyiii.queue")

SUBSCRIBER_TRIGGER_TYPES = ("durable:subscriber", "queue")


class QueueWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Durable queues: topics with durable subscribers, named queues, retries and dead letters."
    config_type = QueueWorkerConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.rt: QueueRuntime | None = None
        self.bridged: BridgedQueue | None = None

    def endpoints(self) -> list[str]:
        if self.bridged is not None:
            return [self.bridged.remote.description]
        return [self.rt.adapter.description] if self.rt is not None else []

    async def start(self) -> None:
        cfg: QueueWorkerConfig = self.config
        bridge = adapters.bridge_config(cfg.adapter)
        if bridge is not None:
            await self._start_bridged(bridge)
            return
        adapter = adapters.build(cfg.adapter, self.context.data_dir)
        await adapter.start()
        if cfg.move_legacy_subscriber_queues:
            report_legacy_moves(await adapter.move_legacy_subscriber_queues())
        if adapter.remote_kind is not None:  # a server that can go away: /readyz reports it
            self.host.add_health_check(f"{self.entry_id}:{adapter.remote_kind}", adapter.ping)
        rt = self.rt = QueueRuntime(self.host, adapter, cfg)
        rt.named = {name: named_policy(q, cfg) for name, q in cfg.queue_configs.items()}
        publisher, inspector = Publisher(rt), Inspector(rt)
        w = self.entry_id
        reg = self.host.register_function
        reg("iii::durable::publish", publisher.publish, worker=w,
            description="Publish {topic, data} to every durable subscriber of the topic")
        reg("enqueue", publisher.publish, worker=w, description="Motia 1.0 name of iii::durable::publish")
        reg("engine::queue::enqueue", publisher.enqueue, worker=w,
            description="Store a call in a named queue (TriggerAction.Enqueue)")
        reg("iii::queue::redrive", inspector.redrive, worker=w, description="Move every dead letter back")
        reg("iii::queue::redrive_message", inspector.redrive_message, worker=w, description="Move one dead letter back")
        reg("iii::queue::discard_message", inspector.discard_message, worker=w, description="Delete one dead letter")
        reg("engine::queue::list_topics", inspector.list_topics, worker=w, description="Topics and named queues")
        reg("engine::queue::topic_stats", inspector.topic_stats, worker=w,
            description="Depth, in-flight and dead-letter counts of a topic or queue")
        reg("engine::queue::dlq_topics", inspector.dlq_topics, worker=w, description="Topics with dead letters")
        reg("engine::queue::dlq_messages", inspector.dlq_messages, worker=w, description="Dead letters, newest first")
        provider = SubscriberProvider(rt)
        for type_id in SUBSCRIBER_TRIGGER_TYPES:
            await self.host.register_trigger_type(
                type_id, provider, worker=self.kind,
                description="Durable subscriber of a topic: {topic, condition_function_id?, queue_config?}")
        self.host.on_functions_changed(self._functions_changed)
        for name, policy in rt.named.items():
            consumer = Consumer(adapter, named_queue(name), policy, self._named_invoker(rt, name), _function_of,
                                rt.function_exists, rt.settings)
            rt.named_consumers[name] = consumer
            consumer.start()

    async def _start_bridged(self, bridge: Any) -> None:
        from pyiii.workers.queue.bridge import BridgedQueue

        self.bridged = BridgedQueue(self.host, bridge)
        await self.bridged.start(self.entry_id)
        self.host.add_health_check(f"{self.entry_id}:bridge", self.bridged.remote.ping)
        for type_id in SUBSCRIBER_TRIGGER_TYPES:
            await self.host.register_trigger_type(
                type_id, self.bridged, worker=self.kind,
                description="Durable subscriber of a topic of the remote engine: {topic, condition_function_id?}")

    async def stop(self) -> None:
        if self.bridged is not None:
            await self.bridged.stop()
        rt = self.rt
        if rt is None:
            return
        for consumer in [*rt.named_consumers.values(), *(s.consumer for s in rt.subscriptions.values())]:
            await consumer.stop(cancel_running=True)
        await rt.adapter.close()

    def _functions_changed(self) -> None:
        rt = self.rt
        if rt is None:
            return
        for consumer in [*rt.named_consumers.values(), *(s.consumer for s in rt.subscriptions.values())]:
            consumer.functions_changed()

    @staticmethod
    def _named_invoker(rt: QueueRuntime, name: str) -> Any:
        tracer = rt.host.tracer

        async def invoke(message: QueueMessage) -> None:
            namespace, function_id = _function_of(message)
            payload = rt.payload_for(function_id, message.data, namespace)
            if not tracer.enabled:
                await rt.host.call(function_id, payload, traceparent=message.traceparent, baggage=message.baggage,
                                   timeout=rt.call_timeout, namespace=namespace)
                return
            # spec/workers.md §8.4: `fn_queue <queue>`, under the enqueuer's context.
            with tracer.start_span(f"fn_queue {name}", SpanKind.CONSUMER, message.traceparent, {
                "iii.trigger.type": "queue", "faas.trigger": "pubsub", "messaging.system": "iii-queue",
                "messaging.destination.name": name, "messaging.operation.type": "process",
                "messaging.message.id": message.message_id or message.id, "attempt": message.attempts + 1,
                "iii.tag.kind": "queue.process",
            }) as span:
                await rt.host.call(function_id, payload, traceparent=span.traceparent, baggage=message.baggage,
                                   timeout=rt.call_timeout, namespace=namespace)

        return invoke


def _function_of(message: QueueMessage) -> FunctionKey:
    """A named-queue job runs its function in the enqueuer's namespace (spec iii-0.23-0.25 §1.11)."""
    return message.namespace or DEFAULT_NAMESPACE, message.function_id or ""
