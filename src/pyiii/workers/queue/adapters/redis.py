"""Redis adapter: one stream per queue, read through a consumer group shared by every engine.

* publish = XADD (fan-out to every subscriber's stream happens in one Lua script, so a
  subscriber added concurrently can never miss a message or strand it in the backlog);
* receive = XREADGROUP ... BLOCK: a publish wakes the reader at once (push, no poll interval);
* a received entry sits in the group's pending list until XACK+XDEL (success or DLQ). Leases are
  renewed with XCLAIM ... JUSTID; an entry idle longer than ``lease_ms`` (its engine died) is
  taken over by another reader with XAUTOCLAIM and delivered again;
* settling (ack, retry, release, dead letter) is group-committed: the settles of one event-loop
  turn, and those made while the previous one was in flight, go out as one MULTI/EXEC, and each
  caller returns only after that EXEC succeeded;
* retries wait in a sorted set (score = due time) and are moved back into the stream by a Lua
  script when due: by an in-process timer of the engine that scheduled the retry (at the due
  time), or by any reader's periodic maintenance pass (another engine, or after a restart);
  dead letters live in a hash plus a time index.

Durability is Redis's own: configure ``appendonly yes`` (``appendfsync always`` to survive power
loss) on the server for an acknowledged message to survive a Redis restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
import zlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from redis.exceptions import ResponseError

from pyiii.adapters.redis_connection import redis_client
from pyiii.urls import without_credentials
from pyiii.workers.queue.adapter_config import RedisConfig
from pyiii.workers.queue.adapters.base import BacklogFull, LegacyMove, QueueAdapter
from pyiii.workers.queue.adapters.batching import GroupCommit
from pyiii.workers.queue.adapters.redis_legacy import move_legacy
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
from pyiii.workers.queue.naming import topic_prefix

log = logging.getLogger("pyiii.queue")

_PUBLISH_TOPIC = """
local subs = redis.call('SMEMBERS', KEYS[1])
if #subs == 0 then
  if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[4]) then return -1 end
  redis.call('XADD', KEYS[2], '*', 'm', ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[2])
  return 0
end
for _, fn in ipairs(subs) do
  local q = ARGV[5] .. fn
  redis.call('XADD', ARGV[1] .. ':s:' .. q, '*', 'm', ARGV[3], 'c', '1')
end
return #subs
"""

_SUBSCRIBE = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])
if added == 0 or redis.call('SCARD', KEYS[1]) > 1 then return 0 end
local entries = redis.call('XRANGE', KEYS[2], '-', '+')
for _, e in ipairs(entries) do
  redis.call('XADD', KEYS[3], '*', unpack(e[2]))
end
redis.call('DEL', KEYS[2])
return #entries
"""

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 256)
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'm', m)
  redis.call('ZREM', KEYS[1], m)
end
return #due
"""

# The due-time timer of one retry: whoever removes it from the delayed set moves it (exactly once).
_PROMOTE_ONE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'm', ARGV[1])
  return 1
end
return 0
"""

#: One settle: the queue, the entry id, and extra commands queued in the same transaction.
_Settle = tuple[str, str, Callable[[Any], None] | None]
#: One write: adds its commands to a pipeline; ``out`` receives its reply.
_Write = tuple[Callable[[Any], None], list[Any]]


class RedisAdapter(QueueAdapter):
    broker_type = "redis"
    remote_kind = "redis"

    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        self.p = config.key_prefix
        self.description = f"Redis {without_credentials(config.redis_url)} ({self.p}:*)"
        # redis-py's return types are unions of every protocol variant; Any keeps this honest.
        self._redis: Any = redis_client(config.redis_url, max_connections=config.max_connections,
                                        pool_timeout_ms=config.pool_timeout_ms, owner="iii-queue adapter redis")
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._groups: set[str] = set()
        #: loop time of each queue's next promote-and-reclaim pass
        self._maintenance: dict[str, float] = {}
        self._publish_topic: Any = None
        self._subscribe: Any = None
        self._promote: Any = None
        self._promote_one: Any = None
        self._background: set[asyncio.Future[Any]] = set()
        self._settles: GroupCommit[_Settle] = GroupCommit(self._flush_settles)
        #: publishes of one loop turn share a pipeline (each is atomic on its own: a Lua script,
        #: or XADD + an idempotent SADD)
        self._writes: GroupCommit[_Write] = GroupCommit(self._flush_writes)
        #: due-time timers of the retries this engine scheduled, by (queue, body)
        self._timers: dict[tuple[str, bytes], asyncio.TimerHandle] = {}

    # keys
    def _s(self, queue: str) -> str:
        return f"{self.p}:s:{queue}"

    def _d(self, queue: str) -> str:
        return f"{self.p}:d:{queue}"

    def _dead(self, queue: str) -> str:
        return f"{self.p}:dead:{queue}"

    def _dead_idx(self, queue: str) -> str:
        return f"{self.p}:deadidx:{queue}"

    def _subs(self, topic: str) -> str:
        return f"{self.p}:subs:{topic}"

    @property
    def _queues(self) -> str:
        return f"{self.p}:queues"

    @property
    def _topics(self) -> str:
        return f"{self.p}:topics"

    async def start(self) -> None:
        await self._redis.ping()
        self._publish_topic = self._redis.register_script(_PUBLISH_TOPIC)
        self._subscribe = self._redis.register_script(_SUBSCRIBE)
        self._promote = self._redis.register_script(_PROMOTE)
        self._promote_one = self._redis.register_script(_PROMOTE_ONE)

    async def ping(self) -> None:
        await self._redis.ping()

    async def move_legacy_subscriber_queues(self) -> list[LegacyMove]:
        return await move_legacy(self._redis, self)

    async def close(self) -> None:
        # Pending timers are only shortcuts: the delayed set still holds those retries.
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        await self._settles.drain()
        await self._writes.drain()
        await self._redis.aclose()

    # ------------------------------------------------------------- topics

    async def add_subscriber(self, topic: str, subscriber: str) -> int:
        target = subscriber_queue(topic, subscriber)
        moved = await self._subscribe(
            keys=[self._subs(topic), self._s(backlog_queue(topic)), self._s(target), self._topics, self._queues],
            args=[subscriber, topic, target])
        return int(moved)

    async def remove_subscriber(self, topic: str, subscriber: str) -> None:
        await self._redis.srem(self._subs(topic), subscriber)

    async def subscribers(self, topic: str) -> list[str]:
        return sorted(m.decode() for m in await self._redis.smembers(self._subs(topic)))

    async def topics(self) -> list[str]:
        out = []
        for raw in await self._redis.smembers(self._topics):
            topic = raw.decode()
            if await self._redis.scard(self._subs(topic)) or await self._redis.xlen(self._s(backlog_queue(topic))):
                out.append(topic)
        return sorted(out)

    async def _flush_writes(self, batch: list[_Write]) -> list[Exception | None]:
        """One pipeline (not a transaction) for a batch of publishes; per-publish errors."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for add, _ in batch:
                add(pipe)
            replies = await pipe.execute(raise_on_error=False)
        errors: list[Exception | None] = []
        at = 0
        for _, out in batch:
            # a write's reply is its first command's (XADD or EVALSHA); the rest are bookkeeping
            n = len(out)  # out holds the number of commands this write queued
            mine = replies[at:at + n]
            at += n
            failed = next((r for r in mine if isinstance(r, Exception)), None)
            out[:] = [mine[0]]
            errors.append(failed)
        return errors

    async def _write(self, commands: int, add: Callable[[Any], None]) -> Any:
        out: list[Any] = [None] * commands
        await self._writes.submit((add, out))
        return out[0]

    async def publish_topic(self, topic: str, message: QueueMessage, max_backlog: int) -> int:
        body = encode_message(message)
        keys = [self._subs(topic), self._s(backlog_queue(topic)), self._topics]
        args = [self.p, topic, body, max_backlog, topic_prefix(topic)]

        def add(pipe: Any) -> None:
            # what Script.__call__ does on a pipeline, without its coroutine: execute() loads the
            # script first if the server lacks it
            pipe.scripts.add(self._publish_topic)
            pipe.evalsha(self._publish_topic.sha, len(keys), *keys, *args)

        copies = int(await self._write(1, add))
        if copies < 0:
            raise BacklogFull(topic, max_backlog)
        return copies

    # ------------------------------------------------------------- queues

    async def publish(self, message: QueueMessage) -> None:
        stream, body = self._s(message.queue), encode_message(message)

        def add(pipe: Any) -> None:
            pipe.xadd(stream, {"m": body})
            pipe.sadd(self._queues, message.queue)

        await self._write(2, add)

    async def _ensure_group(self, queue: str) -> None:
        if queue in self._groups:
            return
        try:
            await self._redis.xgroup_create(self._s(queue), self.config.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        await self._redis.sadd(self._queues, queue)
        self._groups.add(queue)

    def _deliveries(self, queue: str, entries: Sequence[Any]) -> list[Delivery]:
        out = []
        copy_suffix = None
        for entry_id, fields in entries:
            if not fields:
                continue  # deleted while pending
            message = decode_message(fields[b"m"])  # a fresh struct of this delivery's own
            if fields.get(b"c"):
                # one body is shared by every fan-out copy; give each copy its own id (the entry
                # id alone is not: one script adds the copies, all with the same entry id)
                if copy_suffix is None:
                    copy_suffix = f"-{zlib.crc32(queue.encode()):08x}"
                message.id += copy_suffix
            message.queue = queue
            out.append(Delivery(message, entry_id))  # as Redis sent it: XACK/XDEL/XCLAIM take it back as is
        return out

    async def receive(self, queue: str, max_count: int, lease_ms: int) -> list[Delivery]:
        """Hot path: one XREADGROUP BLOCK. Every ``min(block_ms, lease_ms/4)`` (or when a retry
        this engine scheduled is due) it also promotes due retries and reclaims stuck entries."""
        await self._ensure_group(queue)
        loop = asyncio.get_running_loop()
        period = min(self.config.block_ms, max(lease_ms // 4, 1)) / 1000
        while True:
            if loop.time() >= self._maintenance.get(queue, 0.0):
                self._maintenance[queue] = loop.time() + period
                await self._promote(keys=[self._d(queue), self._s(queue)], args=[now_ms()])
                _, claimed, *_ = await self._redis.xautoclaim(
                    self._s(queue), self.config.group, self.consumer, min_idle_time=lease_ms, start_id="0-0",
                    count=max_count)
                got = self._deliveries(queue, claimed)
                if got:
                    return got
            block = max(1, int((self._maintenance[queue] - loop.time()) * 1000))
            res = await self._redis.xreadgroup(self.config.group, self.consumer, {self._s(queue): ">"},
                                               count=max_count, block=block)
            if res:
                got = self._deliveries(queue, res[0][1])
                if got:
                    return got

    def _promote_due(self, queue: str, body: bytes) -> None:
        self._timers.pop((queue, body), None)
        task = asyncio.ensure_future(self._promote_one(keys=[self._d(queue), self._s(queue)], args=[body]))
        self._background.add(task)
        task.add_done_callback(self._promoted)

    def _promoted(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # not lost: any reader's next maintenance pass promotes it
            log.warning("redis queue: promoting due retries failed: %s", task.exception())

    async def _flush_settles(self, batch: list[_Settle]) -> None:
        """One MULTI/EXEC for a batch of settles: extra commands first, then XACK+XDEL per queue
        (the entry leaves the pending list in the same transaction that stores its follow-up)."""
        ids: dict[str, list[str]] = {}
        async with self._redis.pipeline(transaction=True) as pipe:
            for queue, entry_id, then in batch:
                if then is not None:
                    then(pipe)
                ids.setdefault(queue, []).append(entry_id)
            for queue, entry_ids in ids.items():
                pipe.xack(self._s(queue), self.config.group, *entry_ids)
                pipe.xdel(self._s(queue), *entry_ids)
            await pipe.execute()

    def _settle(self, delivery: Delivery, then: Callable[[Any], None] | None = None) -> Coroutine[Any, Any, None]:
        # the group commit's own coroutine, without frames of ours (one per job on the hot path)
        return self._settles.submit((delivery.message.queue, delivery.handle, then))

    def ack(self, delivery: Delivery) -> Coroutine[Any, Any, None]:
        return self._settle(delivery)

    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        # keep_place: a stream only appends; a message given back goes to the end either way.
        body = encode_message(message)
        queue = message.queue
        if delay_ms > 0:
            loop = asyncio.get_running_loop()
            due = loop.time() + delay_ms / 1000
            score = now_ms() + delay_ms
            await self._settle(delivery, lambda pipe: pipe.zadd(self._d(queue), {body: score}))
            # Move it into the stream at its due time (which wakes a blocked reader) instead of
            # waiting for a maintenance pass; armed only now that the ZADD is stored, and the
            # delayed set stays the source of truth if this engine stops first.
            key = (queue, body)
            old = self._timers.pop(key, None)
            if old is not None:
                old.cancel()
            self._timers[key] = loop.call_at(max(due, loop.time()), self._promote_due, queue, body)
        else:
            await self._settle(delivery, lambda pipe: pipe.xadd(self._s(queue), {"m": body}))

    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        message = dead.message
        queue = message.queue

        def bury(pipe: Any) -> None:
            pipe.hset(self._dead(queue), message.id, encode_dead(dead))
            pipe.zadd(self._dead_idx(queue), {message.id: dead.failed_at})

        await self._settle(delivery, bury)

    async def extend(self, deliveries: Sequence[Delivery], lease_ms: int) -> None:
        by_queue: dict[str, list[str]] = {}
        for d in deliveries:
            by_queue.setdefault(d.message.queue, []).append(d.handle)
        for queue, ids in by_queue.items():
            await self._redis.xclaim(self._s(queue), self.config.group, self.consumer, 0, ids, justid=True)

    # ------------------------------------------------------------- inspection and DLQ

    async def stats(self, queue: str) -> QueueStats:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self._s(queue))
            pipe.zcard(self._d(queue))
            pipe.hlen(self._dead(queue))
            length, delayed, dead = await pipe.execute()
        pending = 0
        if length:
            try:
                summary = await self._redis.xpending(self._s(queue), self.config.group)
                pending = int(summary["pending"])
            except ResponseError:
                pending = 0
        return QueueStats(int(length) - pending, int(delayed), pending, int(dead))

    async def dlq_counts(self) -> dict[str, int]:
        out = {}
        for raw in await self._redis.smembers(self._queues):
            queue = raw.decode()
            n = await self._redis.hlen(self._dead(queue))
            if n:
                out[queue] = int(n)
        return out

    async def dlq_list(self, queues: Sequence[str], offset: int, limit: int) -> list[DeadLetter]:
        rows: list[DeadLetter] = []
        for queue in queues:
            ids = await self._redis.zrevrange(self._dead_idx(queue), 0, offset + limit - 1)
            if ids:
                bodies = await self._redis.hmget(self._dead(queue), ids)
                rows.extend(decode_dead(b) for b in bodies if b)
        return newest_first(rows, offset, limit)

    async def redrive(self, queues: Sequence[str], message_id: str | None) -> int:
        count = 0
        for queue in queues:
            if message_id is None:
                ids = [i.decode() for i in await self._redis.zrange(self._dead_idx(queue), 0, -1)]
            else:
                ids = [message_id]
            for mid in ids:
                body = await self._redis.hget(self._dead(queue), mid)
                if body is None:
                    continue
                message = decode_dead(body).redriven()
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hdel(self._dead(queue), mid)
                    pipe.zrem(self._dead_idx(queue), mid)
                    pipe.xadd(self._s(queue), {"m": encode_message(message)})
                    removed, _, _ = await pipe.execute()
                count += int(bool(removed))
        return count

    async def discard(self, queues: Sequence[str], message_id: str) -> bool:
        for queue in queues:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._dead(queue), message_id)
                pipe.zrem(self._dead_idx(queue), message_id)
                removed, _ = await pipe.execute()
            if removed:
                return True
        return False
