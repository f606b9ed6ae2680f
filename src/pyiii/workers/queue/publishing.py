"""``iii::durable::publish`` (alias ``enqueue``) and ``engine::queue::enqueue``."""

from __future__ import annotations

import uuid
from typing import Any

from pyiii.core import DEFAULT_NAMESPACE, CallContext, FunctionError, bad_input, is_blank_namespace
from pyiii.core import error_codes as E
from pyiii.workers.queue.adapters.base import BacklogFull
from pyiii.workers.queue.message import QueueMessage, named_queue, now_ms
from pyiii.workers.queue.runtime import QueueRuntime


def _object(function_id: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise bad_input(function_id, f"expected an object, got {type(data).__name__}")
    return data


def _optional_str(function_id: str, data: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int):
            raise bad_input(function_id, f"`{key}` must be a string")
        return str(value)
    return None


class Publisher:
    def __init__(self, rt: QueueRuntime) -> None:
        self.rt = rt
        self.published = 0
        self.backlogged = 0

    async def publish(self, data: Any, ctx: CallContext) -> None:
        """``{topic, data, messageGroupId?}`` -> null. Every subscribed function gets a copy;
        with no subscriber yet the message waits in the topic's backlog (see README)."""
        fid = ctx.function_id
        body = _object(fid, data)
        topic = body.get("topic") if body.get("topic") is not None else body.get("queue")
        if topic is not None and not isinstance(topic, str):
            raise bad_input(fid, "`topic` must be a string")
        if not topic:
            raise FunctionError("topic_not_set", "Topic is not set")
        if "data" not in body:
            raise bad_input(fid, "missing field `data`")
        message = QueueMessage(
            id=str(uuid.uuid4()),
            queue="",
            data=self.rt.encode_data(fid, body["data"]),
            created_at=now_ms(),
            group_id=_optional_str(fid, body, "messageGroupId", "message_group_id"),
            traceparent=ctx.traceparent,
            baggage=ctx.baggage,
            topic=topic,
        )
        try:
            copies = await self.rt.adapter.publish_topic(topic, message, self.rt.config.max_backlog)
        except BacklogFull as exc:
            raise FunctionError("backlog_full", str(exc)) from None
        except FunctionError:
            raise
        except Exception as exc:
            raise FunctionError("publish_failed", f"could not store the message for topic '{topic}': {exc}") from None
        self.published += 1
        if copies == 0:
            self.backlogged += 1

    async def enqueue(self, data: Any, ctx: CallContext) -> Any:
        """Provider of ``TriggerAction.Enqueue({queue})`` (called by the engine core)."""
        fid = ctx.function_id
        body = _object(fid, data)
        queue = body.get("queue")
        function_id = body.get("function_id")
        if not isinstance(queue, str) or not queue:
            raise FunctionError("queue_not_set", "Queue is not set")
        if not isinstance(function_id, str) or not function_id:
            raise bad_input(fid, "missing field `function_id`")
        policy = self.rt.named.get(queue)
        if policy is None:
            known = ", ".join(sorted(self.rt.named))
            raise FunctionError("queue_not_found", f"Queue '{queue}' not found (configured: {known})")
        payload = body.get("data")
        group_id = None
        if policy.fifo:
            field = policy.group_field or ""
            value = payload.get(field) if isinstance(payload, dict) else None
            if value is None:
                raise FunctionError("message_group_required",
                                    f"Queue '{queue}' is fifo: data.{field} (message_group_field) is required")
            group_id = str(value)
        receipt = body.get("messageReceiptId") if isinstance(body.get("messageReceiptId"), str) else None
        message = QueueMessage(
            id=str(uuid.uuid4()),
            queue=named_queue(queue),
            data=self.rt.encode_data(fid, payload),
            created_at=now_ms(),
            function_id=function_id,
            group_id=group_id,
            traceparent=_optional_str(fid, body, "traceparent") or ctx.traceparent,
            baggage=_optional_str(fid, body, "baggage") or ctx.baggage,
            message_id=receipt,
            namespace=enqueue_namespace(body),
        )
        try:
            await self.rt.adapter.publish(message)
        except Exception as exc:
            raise FunctionError("enqueue_failed", f"could not store the message for queue '{queue}': {exc}") from None
        self.published += 1
        return {"messageReceiptId": receipt or message.id, "message_id": message.id}


def enqueue_namespace(body: dict[str, Any]) -> str | None:
    """The enqueuer's namespace (sent only when it is not default; spec iii-0.23-0.25 §1.10).
    Absent or null is default; anything else but a non-blank string is refused, never guessed."""
    namespace = body.get("namespace")
    if namespace is None or namespace == DEFAULT_NAMESPACE:
        return None
    if not isinstance(namespace, str):
        raise bad_input("engine::queue::enqueue", "`namespace` must be a string")
    if is_blank_namespace(namespace):
        raise FunctionError(E.INVALID_NAMESPACE, "`namespace` is blank: name one, or omit it for `default`")
    return namespace
