"""The Redis store's order index (adapters/kv/redis_scripts.py), beyond what the contract shows:
tables written before the index existed, or by an engine without it, still list every key, and
the index is backfilled, repaired and removed with its table. Redis only: the other backends
have no index to get out of step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from pyiii.adapters.kv.redis_store import RedisStore
from tests.contracts.backends import REDIS_URL, require_redis, unique
from tests.contracts.kv.conftest import purge_redis

BIG = "v" * 100  # past hash-max-listpack-value: the hash becomes a hashtable, its order arbitrary


@dataclass
class Setup:
    namespace: str
    raw: aioredis.Redis
    stores: list[RedisStore]

    async def store(self) -> RedisStore:
        store = RedisStore(REDIS_URL, self.namespace)
        await store.open()
        self.stores.append(store)
        return store

    def hash(self, table: str) -> str:
        return f"{self.namespace}:{table}"

    def index(self, table: str) -> str:
        return f"pyiii:order:{self.namespace}:{table}"

    async def legacy_write(self, table: str, rows: list[tuple[str, str]]) -> None:
        """What the store wrote before the index existed (and an engine without it still does)."""
        for key, value in rows:
            await self.raw.hset(self.hash(table), key, f'"{value}"')  # type: ignore[misc]

    async def indexed(self, table: str) -> list[str]:
        return [k.decode() for k in await self.raw.zrange(self.index(table), 0, -1)]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    require_redis()
    namespace = unique("kvorder").replace("-", "_")
    s = Setup(namespace, aioredis.Redis.from_url(REDIS_URL), [])
    try:
        yield s
    finally:
        for store in s.stores:
            await store.close()
        await purge_redis(namespace)
        await s.raw.aclose()


async def keys_of(store: RedisStore, table: str) -> list[str]:
    return [k for k, _ in await store.entries(table)]


async def test_a_small_legacy_table_keeps_its_insertion_order_and_new_keys_go_after_it(setup: Setup) -> None:
    legacy = [(f"old{i}", f"v{i}") for i in range(20)][::-1]
    await setup.legacy_write("t", legacy)
    store = await setup.store()
    await store.set("t", "new", 1)  # the first write backfills before it appends
    expected = [k for k, _ in legacy] + ["new"]
    assert await keys_of(store, "t") == expected
    assert await setup.indexed("t") == expected


async def test_a_large_legacy_table_lists_every_key_in_one_stable_order(setup: Setup) -> None:
    legacy = [(f"old{i:04d}", BIG) for i in range(700)]
    await setup.legacy_write("t", legacy)
    store = await setup.store()
    first = await keys_of(store, "t")  # a hashtable's own order: arbitrary, but fixed from now on
    assert sorted(first) == sorted(k for k, _ in legacy)
    assert await keys_of(store, "t") == first
    assert await setup.indexed("t") == first  # listing backfilled the index in that order
    await setup.raw.hset(setup.hash("t"), "after-backfill", '"x"')  # type: ignore[misc]
    await store.set("t", "newest", BIG)
    assert await keys_of(store, "t") == [*first, "after-backfill", "newest"]
    assert await keys_of(store, "t") == await setup.indexed("t")


async def test_two_engines_backfilling_one_table_at_once_agree(setup: Setup) -> None:
    await setup.legacy_write("t", [(f"old{i:04d}", BIG) for i in range(600)])
    a, b = await setup.store(), await setup.store()
    listings = await asyncio.gather(*(s.entries("t") for s in (a, b) for _ in range(3)),
                                    *(s.set("t", f"new-{n}", n) for n, s in enumerate((a, b))))
    indexed = await setup.indexed("t")
    assert len(indexed) == len(set(indexed)) == 602
    assert indexed[-2:] in (["new-0", "new-1"], ["new-1", "new-0"])
    for listing in listings[:6]:
        assert isinstance(listing, list)
        keys = [k for k, _ in listing]
        assert keys == [k for k in indexed if k in set(keys)]  # one order, whoever backfilled
    assert await keys_of(a, "t") == await keys_of(b, "t") == indexed


async def test_writes_of_an_engine_without_the_index_are_listed_and_repaired(setup: Setup) -> None:
    store = await setup.store()
    for key in ("a", "b", "c"):
        await store.set("t", key, key)
    await setup.raw.hdel(setup.hash("t"), "b")  # type: ignore[misc]  # an old engine's delete
    await setup.legacy_write("t", [("d", "d")])  # ... and its insert: the index counts 3 and 3
    assert await store.entries("t") == [("a", "a"), ("c", "c"), ("d", "d")]
    assert await setup.indexed("t") == ["a", "c", "d"]
    await store.set("t", "b", "again")
    assert await keys_of(store, "t") == ["a", "c", "d", "b"]


async def test_an_emptied_table_leaves_no_index_behind(setup: Setup) -> None:
    store = await setup.store()
    for key in ("a", "b"):
        await store.set("t", key, BIG)
    await store.update("t", "c", lambda old: 1)
    for key in ("b", "c", "a"):
        await store.delete("t", key)
    assert await setup.raw.exists(setup.hash("t"), setup.index("t")) == 0
    await setup.legacy_write("u", [("only", "x")])
    await setup.raw.hdel(setup.hash("u"), "only")  # type: ignore[misc]
    await setup.raw.zadd(setup.index("u"), {"only": 1})  # an index an old engine left behind
    assert await store.entries("u") == []
    assert await setup.raw.exists(setup.index("u")) == 0


async def test_a_migration_moves_the_index_with_its_table(setup: Setup) -> None:
    store = await setup.store()
    for key in ("z", "y", "x"):
        await store.set("src", key, BIG)
    await store.set("dst", "y", "kept")
    await store.set("dst", "w", "kept")
    await store.set("lone", "b", 1)
    await store.set("lone", "a", 2)
    assert await store.migrate_tables("m", lambda names: {"src": "dst", "lone": "moved"}) == 2
    assert await store.entries("dst") == [("y", "kept"), ("w", "kept"), ("z", BIG), ("x", BIG)]
    assert await setup.indexed("dst") == ["y", "w", "z", "x"]
    assert await store.entries("moved") == [("b", 1), ("a", 2)]
    assert await setup.raw.exists(setup.hash("src"), setup.index("src"), setup.index("lone")) == 0


async def test_a_listing_whose_repair_redis_refuses_still_lists_every_key(setup: Setup,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A repair is a write: Redis may refuse it (OOM under ``noeviction``, a read-only replica).
    The read before it had every key, so the listing is served and the refusal logged."""
    store = await setup.store()
    await store.set("t", "a", 1)
    await setup.legacy_write("t", [("b", "x")])

    async def refuse(**_: object) -> None:
        raise ResponseError("OOM command not allowed when used memory > 'maxmemory'.")

    store._repair = refuse  # type: ignore[assignment]
    assert await store.entries("t") == [("a", 1), ("b", "x")]
    assert "could not repair the order index" in caplog.text
    assert await setup.indexed("t") == ["a"]
