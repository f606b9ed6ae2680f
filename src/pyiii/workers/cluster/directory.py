"""Who serves what: each engine's announcement in Redis, refreshed by a heartbeat.

Keys (``P`` = ``key_prefix``):

* ``P:engine:<id>``  the announcement (JSON), written with a TTL of ``ttl_ms``; an engine that
  stops refreshing it (kill -9, network split) disappears from the cluster when it expires;
* ``P:engines``      sorted set of engine ids scored by announcement expiry (an index, so no
  engine has to SCAN the keyspace);
* ``P:changed``      pub/sub channel; an engine publishes its id when its announcement changes so
  the others reconcile at once instead of at their next heartbeat.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


class AnnouncedTrigger(msgspec.Struct, frozen=True):
    id: str
    type: str
    function_id: str
    config: Any = None
    #: Where its function resolves, and where its provider must be (iii 0.23 namespaces); an
    #: engine of an earlier pyiii sends neither: ``default`` and home-then-default.
    namespace: str = "default"
    trigger_namespace: str | None = None


class Announcement(msgspec.Struct):
    #: Function ids served in ``default`` by workers connected to the announcing engine (the
    #: only list engines before namespaces read)…
    functions: list[str] = msgspec.field(default_factory=list)
    #: …and ``[namespace, id]`` of those served in any other namespace.
    namespaced: list[tuple[str, str]] = msgspec.field(default_factory=list)
    #: Worker-owned bindings of the replicated trigger types.
    triggers: list[AnnouncedTrigger] = msgspec.field(default_factory=list)
    #: Shutting down: still serves what it has, but callers prefer other owners.
    draining: bool = False

    def served(self) -> list[tuple[str, str]]:
        """Every ``(namespace, function id)`` it serves."""
        return [("default", fid) for fid in self.functions] + [(ns, fid) for ns, fid in self.namespaced]

    def encode(self) -> bytes:
        return _encoder.encode(self)


_decoder = msgspec.json.Decoder(Announcement)


def now_ms() -> int:
    return int(time.time() * 1000)


class Directory:
    def __init__(self, redis: Any, prefix: str, engine_id: str, ttl_ms: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.engine_id = engine_id
        self.ttl_ms = ttl_ms
        self._last: bytes | None = None

    @property
    def index_key(self) -> str:
        return f"{self.prefix}:engines"

    @property
    def channel(self) -> str:
        return f"{self.prefix}:changed"

    def engine_key(self, engine_id: str) -> str:
        return f"{self.prefix}:engine:{engine_id}"

    async def announce(self, announcement: Announcement) -> bool:
        """Write (or just refresh) this engine's announcement; True if it changed."""
        body = announcement.encode()
        changed = body != self._last
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.engine_key(self.engine_id), body, px=self.ttl_ms)
            pipe.zadd(self.index_key, {self.engine_id: now_ms() + self.ttl_ms})
            if changed:
                pipe.publish(self.channel, self.engine_id)
            await pipe.execute()
        self._last = body
        return changed

    async def withdraw(self) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.engine_key(self.engine_id))
            pipe.zrem(self.index_key, self.engine_id)
            pipe.publish(self.channel, self.engine_id)
            await pipe.execute()
        self._last = None

    async def others(self) -> dict[str, Announcement]:
        """The live announcements of every other engine."""
        await self.redis.zremrangebyscore(self.index_key, "-inf", now_ms())
        ids = [m.decode() for m in await self.redis.zrange(self.index_key, 0, -1)]
        ids = [i for i in ids if i != self.engine_id]
        if not ids:
            return {}
        bodies = await self.redis.mget([self.engine_key(i) for i in ids])
        out: dict[str, Announcement] = {}
        for engine_id, body in zip(ids, bodies, strict=True):
            if body is None:
                continue  # expired between the two reads: gone
            try:
                out[engine_id] = _decoder.decode(body)
            except msgspec.DecodeError:
                continue  # a foreign or newer writer; ignore rather than crash the loop
        return out
