"""The kv backends: memory, sqlite, redis, each built in this process.

``backend.open()`` opens a new store on the backend's storage; called again it is a second
store on the same storage: a re-open after a restart, or a second engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyiii.adapters.kv.store import KvStore
from tests.contracts.backends import REDIS_URL, apply_marks, require_redis, unique

#: durable  a store re-opened on the same storage has every acknowledged write and migration mark
#: shared   two open stores on one storage see each other's writes at once, and ``update`` is
#:          atomic across them (SQLite: one file, several connections or processes)
#: shared_events  the change buses of two stores on one storage carry each other's events
#:          (stream events between engines: only Redis has a channel between processes)
CAPABILITIES = {
    "memory": frozenset[str](),
    "sqlite": frozenset({"durable", "shared"}),
    "redis": frozenset({"durable", "shared", "shared_events"}),
}

#: (test, backend) -> why the backend breaks that property (each test a strict xfail there).
BROKEN: dict[tuple[str, str], str] = {}


@dataclass
class Backend:
    name: str
    namespace: str
    factory: Callable[[], KvStore]
    made: list[KvStore] = field(default_factory=list)

    async def open(self) -> KvStore:
        store = self.factory()
        await store.open()
        self.made.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.made:
            with contextlib.suppress(Exception):
                await store.close()


def _factory(name: str, namespace: str, tmp_path: Path) -> Callable[[], KvStore]:
    if name == "memory":
        from pyiii.adapters.kv.memory import MemoryStore

        shared = MemoryStore()  # "the same storage" in memory is the same object
        return lambda: shared
    if name == "sqlite":
        from pyiii.adapters.kv.sqlite import SqliteStore

        return lambda: SqliteStore(tmp_path / "kv.db", namespace)
    require_redis()
    from pyiii.adapters.kv.redis_store import RedisStore

    return lambda: RedisStore(REDIS_URL, namespace)


async def purge_redis(namespace: str) -> None:
    """Every key a RedisStore of ``namespace`` made: tables, order indexes, migration marks."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
        keys += [k async for k in client.scan_iter(match=f"pyiii:migrations:{namespace}*", count=1000)]
        keys += [k async for k in client.scan_iter(match=f"pyiii:order:{namespace}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=sorted(CAPABILITIES))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    name: str = request.param
    apply_marks(request, name, CAPABILITIES[name], BROKEN)
    namespace = unique("kv").replace("-", "_")
    b = Backend(name, namespace, _factory(name, namespace, tmp_path))
    try:
        yield b
    finally:
        await b.close_all()
        if name == "redis":
            await purge_redis(namespace)


@pytest.fixture
async def store(backend: Backend) -> KvStore:
    return await backend.open()
