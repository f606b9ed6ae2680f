"""``adapter: {name: redis}``: each table is a Redis hash ``<namespace>:<table>``, with an order
index ``pyiii:order:<namespace>:<table>`` (a sorted set, see :mod:`.redis_scripts`) so that
listings give keys oldest first at any size.

set / delete are one Lua script each (atomic with the index, one round trip). update is optimistic:
read, apply the mutation in Python, then a Lua compare-and-set that writes only if the field
still holds what was read; otherwise retry with the value the script returned. Updates of one
key from this process are queued behind a local lock first, so retries only happen when
another engine writes the same key at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from pyiii.adapters.kv import redis_scripts
from pyiii.adapters.kv.bus import EventBus
from pyiii.adapters.kv.locks import KeyedLocks
from pyiii.adapters.kv.redis_bus import RedisEventBus
from pyiii.adapters.kv.redis_order import OrderedRows, in_index_order
from pyiii.adapters.kv.store import KvError, KvStore, Mutation, RenamePlan, decode, encode
from pyiii.adapters.kv.update_ops import MISSING
from pyiii.adapters.redis_connection import DEFAULT_POOL_TIMEOUT_MS, redis_client
from pyiii.urls import without_credentials

log = logging.getLogger("pyiii.kv.redis")

#: How long one engine may hold the migration lock before another may take over (it died).
MIGRATION_LOCK_MS = 60_000
#: Stale index entries sent per repair script (bounds one script's arguments and run time).
REPAIR_BATCH = 1000


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisStore(KvStore):
    remote_kind = "redis"

    def __init__(self, url: str, namespace: str, *, max_connections: int = 64,
                 pool_timeout_ms: int = DEFAULT_POOL_TIMEOUT_MS, max_update_retries: int = 1000) -> None:
        self.url = url
        self.prefix = f"{namespace}:"
        self.max_update_retries = max_update_retries
        self.description = f"Redis {without_credentials(url)} ({self.prefix}*)"
        self.redis: Redis = redis_client(url, max_connections=max_connections, pool_timeout_ms=pool_timeout_ms,
                                         owner=f"kv adapter redis ({namespace})")
        self._set = self.redis.register_script(redis_scripts.SET)
        self._delete = self.redis.register_script(redis_scripts.DELETE)
        self._cas = self.redis.register_script(redis_scripts.COMPARE_AND_SET)
        self._repair = self.redis.register_script(redis_scripts.REPAIR)
        self._merge_rename = self.redis.register_script(redis_scripts.MERGE_RENAME)
        self._release = self.redis.register_script(redis_scripts.RELEASE)
        #: Outside ``<namespace>:*`` so they are never mistaken for tables.
        self.migrations_key = f"pyiii:migrations:{namespace}"
        self.order_prefix = f"pyiii:order:{namespace}:"
        self._locks = KeyedLocks()

    def change_bus(self, channel: str) -> EventBus:
        return RedisEventBus(self.redis, channel)

    async def open(self) -> None:
        try:
            await self.redis.ping()
        except (RedisError, OSError) as exc:
            raise KvError(f"cannot reach Redis at {without_credentials(self.url)}: {exc}") from exc

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> None:
        await self.redis.ping()

    def _key(self, table: str) -> str:
        return self.prefix + table

    def _keys(self, table: str) -> list[str]:
        """The table's hash and its order index, the ``KEYS`` of every writing script."""
        return [self.prefix + table, self.order_prefix + table]

    async def _ordered(self, table: str) -> OrderedRows:
        """The table's fields oldest first: the index and the hash read in one ``MULTI`` (one
        round trip, one snapshot). An index out of step (a table written before it existed, or
        by an engine without it) is repaired and read again, so every engine lists one order:
        a hashtable's own order can change between two reads."""
        keys = self._keys(table)
        try:
            found = await self._read_ordered(keys)
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc
        if not found.index_needs_repair:
            return found
        try:
            for at in range(0, max(len(found.stale), 1), REPAIR_BATCH):
                await self._repair(keys=keys, args=found.stale[at:at + REPAIR_BATCH])
            return await self._read_ordered(keys)
        except ResponseError as exc:  # OOM, READONLY ...: the read had every key, serve it
            log.warning("kv %s: could not repair the order index of %r (%s); listed unindexed keys last",
                        self.description, table, exc)
            return found
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc

    async def _read_ordered(self, keys: list[str]) -> OrderedRows:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrange(keys[1], 0, -1)
            pipe.hgetall(keys[0])
            index, fields = await pipe.execute()
        return in_index_order(index, fields)

    async def get(self, table: str, key: str) -> Any:
        try:
            raw = await cast("Awaitable[bytes | None]", self.redis.hget(self._key(table), key))
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc
        return decode(raw)

    async def entries(self, table: str) -> list[tuple[str, Any]]:
        return [(key.decode(), decode(raw)) for key, raw in (await self._ordered(table)).rows]

    async def set(self, table: str, key: str, value: Any) -> Any:
        try:
            old = await self._set(keys=self._keys(table), args=[key, encode(value)])
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc
        return decode(old)

    async def delete(self, table: str, key: str) -> Any:
        try:
            old = await self._delete(keys=self._keys(table), args=[key])
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc
        return decode(old)

    async def update(self, table: str, key: str, mutate: Mutation) -> tuple[Any, Any]:
        keys = self._keys(table)
        async with self._locks.hold((table, key)):
            try:
                raw: bytes | str | None = await cast("Awaitable[bytes | None]", self.redis.hget(keys[0], key))
                for _ in range(self.max_update_retries):
                    old = decode(raw)
                    new = mutate(old)
                    args: list[bytes | str] = [key, raw or b"", b"0" if raw is None else b"1", encode(new)]
                    reply = await self._cas(keys=keys, args=args)
                    if int(reply[0]) == 1:
                        return old, new
                    raw = reply[1] if len(reply) > 1 else None
            except (RedisError, OSError) as exc:
                raise KvError(f"Redis: {exc}") from exc
        raise KvError(f"update of {table}/{key} lost {self.max_update_retries} races in a row; giving up")

    async def values(self, table: str) -> list[Any]:
        return [decode(raw) for _, raw in (await self._ordered(table)).rows]

    async def raw_items(self, table: str) -> list[tuple[str, bytes]]:
        return [(key.decode(), raw) for key, raw in (await self._ordered(table)).rows]

    async def tables(self) -> list[str]:
        pattern = _glob_escape(self.prefix) + "*"
        found: list[str] = []
        try:
            async for name in self.redis.scan_iter(match=pattern, count=1000, _type="HASH"):
                text = name.decode() if isinstance(name, bytes) else str(name)
                found.append(text[len(self.prefix):])
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc
        return found

    async def migrate_tables(self, marker: str, plan: RenamePlan) -> int:
        """Engines sharing this Redis take turns through a lock key (expiring, in case its holder
        dies); the one that gets it first migrates, the others find the marker recorded."""
        lock, token = f"{self.migrations_key}:lock", uuid.uuid4().hex
        deadline = time.monotonic() + 2 * MIGRATION_LOCK_MS / 1000
        try:
            while True:
                if await cast("Awaitable[int]", self.redis.sismember(self.migrations_key, marker)):
                    return 0
                if await self.redis.set(lock, token, nx=True, px=MIGRATION_LOCK_MS):
                    break
                if time.monotonic() > deadline:
                    raise KvError(f"migration {marker!r}: the lock {lock} stayed taken")
                await asyncio.sleep(0.05)
            try:
                if await cast("Awaitable[int]", self.redis.sismember(self.migrations_key, marker)):
                    return 0
                names = await self.tables()
                renames = {old: new for old, new in plan(names).items() if old != new and old in names}
                for old, new in renames.items():
                    (old_hash, old_index), (new_hash, new_index) = self._keys(old), self._keys(new)
                    await self._merge_rename(keys=[old_hash, new_hash, old_index, new_index])
                await cast("Awaitable[int]", self.redis.sadd(self.migrations_key, marker))
                return len(renames)
            finally:
                await self._release(keys=[lock], args=[token])
        except (RedisError, OSError) as exc:
            raise KvError(f"Redis: {exc}") from exc


__all__ = ["MISSING", "RedisStore"]
