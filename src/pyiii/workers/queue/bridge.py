"""iii-queue with ``adapter: bridge``: the queues live on a remote engine (as in the reference).

* ``iii::durable::publish`` (and ``enqueue``) is forwarded to the remote engine's; the caller gets
  its answer (the reference sends it without waiting and only logs a failure: pyiii acknowledges a
  publish once the remote engine has stored it, or returns its error).
* ``TriggerAction.Enqueue`` calls are forwarded with the same action: the remote engine stores the
  message in its named queue and runs the function there (consumption happens on the remote
  engine; nothing is consumed here).
* A ``durable:subscriber`` (or ``queue``) trigger registered here becomes, on the remote engine,
  a function ``queue::bridge::on_message::<uuid>`` subscribed to the same topic (with the same
  ``queue_config``); each delivery runs the condition and the subscribed function here. A
  failure goes back to the remote engine, which retries and dead-letters by its own policy.
* The inspection and dead-letter functions (``engine::queue::*``, ``iii::queue::*``) answer with
  the remote engine's data (the reference returns empty lists and DLQ errors).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyiii.adapters.bridge import BridgeConfig, BridgeError, RemoteEngine, forwarded_error
from pyiii.core import Binding, CallContext, FunctionError, Host, TriggerRegistrationError
from pyiii.workers.queue.publishing import enqueue_namespace
from pyiii.workers.queue.subscriptions import topic_of

log = logging.getLogger("pyiii.queue")

#: Functions whose answer is the remote engine's own.
FORWARDED = ("iii::queue::redrive", "iii::queue::redrive_message", "iii::queue::discard_message",
             "engine::queue::list_topics", "engine::queue::topic_stats", "engine::queue::dlq_topics",
             "engine::queue::dlq_messages")


@dataclass(slots=True)
class RemoteSubscription:
    handler_id: str
    unregister_trigger: Callable[[], None]
    unregister_function: Callable[[], None]


class BridgedQueue:
    def __init__(self, host: Host, config: BridgeConfig) -> None:
        self.host = host
        self.remote = RemoteEngine(config, "iii-queue-bridge")
        self.subscriptions: dict[str, RemoteSubscription] = {}

    async def start(self, worker: str) -> None:
        self.remote.start()
        reg = self.host.register_function
        reg("iii::durable::publish", self._publish, worker=worker,
            description="Publish {topic, data} on the remote engine")
        reg("enqueue", self._publish, worker=worker, description="Motia 1.0 name of iii::durable::publish")
        reg("engine::queue::enqueue", self._enqueue, worker=worker,
            description="Store a call in a named queue of the remote engine (TriggerAction.Enqueue)")
        for function_id in FORWARDED:
            reg(function_id, self._forward, worker=worker, description=f"{function_id} of the remote engine")
        log.info("iii-queue forwarding to %s", self.remote.url)

    async def stop(self) -> None:
        await self.remote.close()

    async def _call(self, function_id: str, payload: Any, **kwargs: Any) -> Any:
        try:
            return await self.remote.call(function_id, payload, **kwargs)
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None

    async def _publish(self, data: Any, ctx: CallContext) -> Any:
        return await self._call("iii::durable::publish", data)

    async def _forward(self, data: Any, ctx: CallContext) -> Any:
        return await self._call(ctx.function_id, data if data is not None else {})

    async def _enqueue(self, data: Any, ctx: CallContext) -> Any:
        """The engine core's enqueue request ``{queue, function_id, data, ...}``: the same call,
        with the same action, on the remote engine."""
        if not isinstance(data, dict) or not isinstance(data.get("queue"), str) or not data["queue"]:
            raise FunctionError("queue_not_set", "Queue is not set")
        function_id = data.get("function_id")
        if not isinstance(function_id, str) or not function_id:
            raise FunctionError("deserialization_error", "engine::queue::enqueue: missing field `function_id`")
        try:
            return await self.remote.enqueue(function_id, data.get("data"), data["queue"], enqueue_namespace(data))
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None

    # ------------------------------------------------------------------ durable:subscriber provider

    async def register_trigger(self, binding: Binding) -> None:
        config = binding.config
        topic = topic_of(config)
        condition = config.get("condition_function_id")
        if condition is not None and not isinstance(condition, str):
            raise TriggerRegistrationError("condition_function_id must be a string")
        await self.unregister_trigger(binding)  # a re-registration replaces
        handler_id = f"queue::bridge::on_message::{uuid.uuid4()}"

        async def on_message(data: Any) -> Any:
            try:
                if condition and await self.host.call_for(binding, condition, data,
                                                          metadata=binding.metadata) is False:
                    return None
                return await self.host.fire(binding, data)
            except FunctionError as exc:  # the remote engine retries / dead-letters with this error
                raise forwarded_error(exc.code, exc.message) from None

        remote_config: dict[str, Any] = {"topic": topic}
        if config.get("queue_config") is not None:
            remote_config["queue_config"] = config["queue_config"]
        unregister_function = self.remote.register_function(handler_id, on_message,
                                                            description=f"{binding.function_id} (bridged subscriber)")
        unregister_trigger = self.remote.register_trigger("durable:subscriber", handler_id, remote_config)
        self.subscriptions[binding.id] = RemoteSubscription(handler_id, unregister_trigger, unregister_function)
        log.info("topic %s: %s subscribed on %s as %s", topic, binding.function_id, self.remote.url, handler_id)

    async def unregister_trigger(self, binding: Binding) -> None:
        sub = self.subscriptions.pop(binding.id, None)
        if sub is not None:
            sub.unregister_trigger()
            sub.unregister_function()
