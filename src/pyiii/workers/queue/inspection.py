"""Dead letters and queue inspection (spec/workers.md §8.5)."""

from __future__ import annotations

from typing import Any

from pyiii.core import CallContext, FunctionError, bad_input
from pyiii.workers.queue.message import NAMED_PREFIX, DeadLetter, QueueStats, display_name
from pyiii.workers.queue.naming import split_ns, subscriber_of, topic_prefix
from pyiii.workers.queue.runtime import QueueRuntime


def _name(data: Any, keys: tuple[str, ...], code: str, message: str) -> str:
    if isinstance(data, dict):
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
    raise FunctionError(code, message)


def _message_id(data: Any) -> str:
    value = data.get("message_id") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        raise FunctionError("message_id_not_set", "message_id is not set")
    return value


def _int_arg(data: Any, key: str, default: int, fid: str) -> int:
    value = data.get(key, default) if isinstance(data, dict) else default
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_input(fid, f"`{key}` must be an integer >= 0")
    return value


class Inspector:
    def __init__(self, rt: QueueRuntime) -> None:
        self.rt = rt

    async def _guard(self, code: str, coro: Any) -> Any:
        try:
            return await coro
        except FunctionError:
            raise
        except Exception as exc:
            raise FunctionError(code, str(exc) or type(exc).__name__) from None

    async def redrive(self, data: Any, ctx: CallContext) -> Any:
        name = _name(data, ("queue", "topic"), "queue_not_set", "Queue is not set")

        async def run() -> int:
            _, queues = await self.rt.internal_queues(name)
            return await self.rt.adapter.redrive(queues, None)

        return {"queue": name, "redriven": await self._guard("redrive_failed", run())}

    async def redrive_message(self, data: Any, ctx: CallContext) -> Any:
        name = _name(data, ("queue", "topic"), "queue_not_set", "Queue is not set")
        message_id = _message_id(data)

        async def run() -> int:
            _, queues = await self.rt.internal_queues(name)
            return await self.rt.adapter.redrive(queues, message_id)

        return {"queue": name, "message_id": message_id,
                "redriven": await self._guard("redrive_message_failed", run())}

    async def discard_message(self, data: Any, ctx: CallContext) -> Any:
        name = _name(data, ("queue", "topic"), "queue_not_set", "Queue is not set")
        message_id = _message_id(data)

        async def run() -> bool:
            _, queues = await self.rt.internal_queues(name)
            return await self.rt.adapter.discard(queues, message_id)

        done = await self._guard("discard_message_failed", run())
        return {"queue": name, "message_id": message_id, "redriven": 1 if done else 0}

    async def list_topics(self, data: Any, ctx: CallContext) -> Any:
        async def run() -> list[dict[str, Any]]:
            rows = []
            for topic in await self.rt.adapter.topics():
                subs = await self.rt.adapter.subscribers(topic)
                rows.append({"name": topic, "broker_type": self.rt.adapter.broker_type, "subscriber_count": len(subs),
                             "subscribers": _subscribers(subs)})
            for name, policy in sorted(self.rt.named.items()):
                rows.append({"name": name, "broker_type": "function_queue", "subscriber_count": policy.concurrency})
            return rows

        return await self._guard("list_topics_failed", run())

    async def topic_stats(self, data: Any, ctx: CallContext) -> Any:
        name = _name(data, ("topic", "queue"), "topic_required", "topic is required")

        async def run() -> dict[str, Any]:
            kind, queues = await self.rt.internal_queues(name)
            total = QueueStats()
            for queue in queues:
                total = total + await self.rt.adapter.stats(queue)
            consumers = self.rt.consumers_of(name)
            policy = self.rt.named.get(name)
            return {
                "depth": total.waiting + total.delayed + total.in_flight,
                "consumer_count": len(consumers),
                "dlq_depth": total.dead,
                "config": policy.describe() if policy is not None else None,
                "waiting": total.waiting,
                "delayed": total.delayed,
                "in_flight": total.in_flight,
                "kind": kind,
            }

        return await self._guard("topic_stats_failed", run())

    async def dlq_topics(self, data: Any, ctx: CallContext) -> Any:
        async def run() -> list[dict[str, Any]]:
            counts: dict[tuple[str, str], int] = {}
            topics = await self.rt.adapter.topics()
            for queue, n in (await self.rt.adapter.dlq_counts()).items():
                if queue.startswith(NAMED_PREFIX):
                    key = (display_name(queue), "function_queue")
                else:
                    topic = next((t for t in topics if queue.startswith(topic_prefix(t))), _topic_guess(queue))
                    key = (topic, self.rt.adapter.broker_type)
                counts[key] = counts.get(key, 0) + n
            return [{"topic": t, "broker_type": b, "message_count": n} for (t, b), n in sorted(counts.items())]

        return await self._guard("dlq_topics_failed", run())

    async def dlq_messages(self, data: Any, ctx: CallContext) -> Any:
        name = _name(data, ("topic", "queue"), "topic_required", "topic is required")
        offset = _int_arg(data, "offset", 0, ctx.function_id)
        limit = _int_arg(data, "limit", 50, ctx.function_id)

        async def run() -> list[dict[str, Any]]:
            _, queues = await self.rt.internal_queues(name)
            return [_dead_row(d, name) for d in await self.rt.adapter.dlq_list(queues, offset, limit)]

        return await self._guard("dlq_messages_failed", run())


def _subscribers(subs: list[str]) -> list[dict[str, str]]:
    """``[{function_id, namespace}]`` of a topic's subscriber keys (the console shows both)."""
    out = []
    for sub in subs:
        split = split_ns(sub)
        function_id, namespace = split if split is not None else (sub, "default")
        out.append({"function_id": function_id, "namespace": namespace})
    return out


def _topic_guess(queue: str) -> str:
    """The topic of a subscriber queue whose topic has no subscriber left: before the first ``::``."""
    split = split_ns(queue)
    return (split[0] if split is not None else queue).split("::", 1)[0]


def _dead_row(dead: DeadLetter, topic: str) -> dict[str, Any]:
    """A topic copy names no function: its subscriber queue does (and its namespace)."""
    row = dead.row()
    if row["function_id"] is None:
        subscriber = subscriber_of(dead.message.queue, topic)
        if subscriber is not None:
            row["function_id"] = subscriber[0]
    return row
