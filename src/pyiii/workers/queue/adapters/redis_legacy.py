"""The one-time move of pre-namespace subscriber queues in Redis (spec iii-0.23-0.25 §1.11):
``<topic>::<fid>`` becomes ``<topic>::<fid>@default``, and each topic's stored subscribers
(bare function ids) become ``<fid>@default``.

Each queue moves in one ``MULTI/EXEC`` guarded by ``WATCH`` on its keys: its stream entries
(waiting and pending, i.e. in flight on an engine that is gone) are appended to the new stream
as waiting entries, its delayed retries keep their due time, its dead letters keep their id and
failure time, and the old keys and the old name in the queue index go in the same transaction.
A crash leaves each queue either moved or untouched, and the next start moves what is left:
nothing is lost and nothing is copied twice. Stop every engine of the old version first: one
still running would keep filling the old names.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any, Protocol

import msgspec
from redis.exceptions import WatchError

from pyiii.workers.queue.adapters.base import LegacyMove
from pyiii.workers.queue.message import (
    decode_message,
    encode_message,
    moved_dead,
    moved_message,
)
from pyiii.workers.queue.naming import is_legacy_subscriber, is_legacy_subscriber_queue, legacy_target, subscriber_key

log = logging.getLogger("pyiii.queue")


class RedisKeys(Protocol):
    """The key layout of the Redis adapter."""

    def _s(self, queue: str) -> str: ...
    def _d(self, queue: str) -> str: ...
    def _dead(self, queue: str) -> str: ...
    def _dead_idx(self, queue: str) -> str: ...
    def _subs(self, topic: str) -> str: ...
    @property
    def _queues(self) -> str: ...
    @property
    def _topics(self) -> str: ...


async def move_legacy(redis: Any, keys: RedisKeys) -> list[LegacyMove]:
    await _move_subscribers(redis, keys)
    names = sorted(raw.decode() for raw in await redis.smembers(keys._queues))
    return [await _move_queue(redis, keys, name) for name in names if is_legacy_subscriber_queue(name)]


async def _move_subscribers(redis: Any, keys: RedisKeys) -> None:
    for raw_topic in await redis.smembers(keys._topics):
        subs = keys._subs(raw_topic.decode())
        legacy = [m.decode() for m in await redis.smembers(subs) if is_legacy_subscriber(m.decode())]
        if not legacy:
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.srem(subs, *legacy)
            pipe.sadd(subs, *(subscriber_key(fid) for fid in legacy))
            await pipe.execute()


async def _move_queue(redis: Any, keys: RedisKeys, name: str) -> LegacyMove:
    target = legacy_target(name)
    watched = [keys._s(name), keys._d(name), keys._dead(name), keys._dead_idx(name)]
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(*watched)
                entries = await pipe.xrange(keys._s(name), "-", "+")
                delayed = await pipe.zrange(keys._d(name), 0, -1, withscores=True)
                dead = await pipe.hgetall(keys._dead(name))
                dead_index = await pipe.zrange(keys._dead_idx(name), 0, -1, withscores=True)
                pipe.multi()
                for _, fields in entries:
                    if fields:
                        pipe.xadd(keys._s(target), {"m": _moved_entry(fields, name, target)})
                for body, score in delayed:
                    pipe.zadd(keys._d(target), {moved_message(body, target): score})
                for mid, body in dead.items():
                    pipe.hset(keys._dead(target), mid, moved_dead(body, target))
                if dead_index:
                    pipe.zadd(keys._dead_idx(target), dict(dead_index))
                pipe.delete(*watched)
                pipe.srem(keys._queues, name)
                pipe.sadd(keys._queues, target)
                await pipe.execute()
            except WatchError:
                continue  # something settled a message of the queue meanwhile: read again
            return LegacyMove(name, target, sum(1 for _, f in entries if f) + len(delayed), len(dead))


def _moved_entry(fields: dict[bytes, bytes], name: str, target: str) -> bytes:
    """Bodies that do not decode move as they are (they fail where they failed before)."""
    try:
        message = decode_message(fields[b"m"])
    except msgspec.DecodeError:
        return fields[b"m"]
    if fields.get(b"c"):
        # A fan-out copy shares its body with the other copies; it had the id receive() gave it.
        message = msgspec.structs.replace(message, id=f"{message.id}-{zlib.crc32(name.encode()):08x}")
    return encode_message(msgspec.structs.replace(message, queue=target))


