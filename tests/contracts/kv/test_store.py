"""The contract of ``KvStore`` (adapters/kv/store.py), against every backend: what iii-state and
iii-stream rely on (get / set / delete with the previous value, atomic update with the update
ops, listing in key order, table listing, the one-time table migration, durability)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii.adapters.kv.store import KvStore
from pyiii.adapters.kv.update_ops import MISSING, apply_ops, parse_ops
from tests.contracts.kv.conftest import Backend
from tests.support.waiting import eventually


def ops(*raw: dict[str, Any]) -> Any:
    """``mutate(old) -> new`` applying wire update ops, as ``state::update`` does."""
    parsed = parse_ops(list(raw))

    def mutate(old: Any) -> Any:
        new, errors = apply_ops(old, parsed)
        assert errors == [], errors
        return new

    return mutate


# ------------------------------------------------------------------ get, set, delete


async def test_an_absent_key_is_missing_not_null(store: KvStore) -> None:
    assert await store.get("t", "k") is MISSING
    assert await store.set("t", "k", None) is MISSING
    assert await store.get("t", "k") is None
    assert await store.delete("t", "k") is None
    assert await store.get("t", "k") is MISSING


async def test_set_returns_the_previous_value(store: KvStore) -> None:
    value = {"name": "ada", "n": 1, "f": 1.5, "ok": True, "list": [1, "two", None], "uni": "ü€😀"}
    assert await store.set("users", "u1", value) is MISSING
    assert await store.get("users", "u1") == value
    assert await store.set("users", "u1", [1, 2]) == value
    assert await store.get("users", "u1") == [1, 2]
    for scalar in (0, "", False, 12.25, "text", 2**62):
        await store.set("users", "u2", scalar)
        assert await store.get("users", "u2") == scalar


async def test_values_are_copied_in_and_out(store: KvStore) -> None:
    value: dict[str, Any] = {"items": [1]}
    await store.set("t", "k", value)
    value["items"].append(2)
    got = await store.get("t", "k")
    assert got == {"items": [1]}
    got["items"].append(3)
    assert await store.get("t", "k") == {"items": [1]}


async def test_delete_returns_the_previous_value(store: KvStore) -> None:
    await store.set("t", "a", {"v": 1})
    assert await store.delete("t", "a") == {"v": 1}
    assert await store.delete("t", "a") is MISSING
    assert await store.delete("never", "x") is MISSING


async def test_tables_are_separate(store: KvStore) -> None:
    await store.set("one", "k", 1)
    await store.set("two", "k", 2)
    assert (await store.get("one", "k"), await store.get("two", "k")) == (1, 2)
    await store.delete("one", "k")
    assert await store.get("two", "k") == 2


async def test_names_with_separators_and_unicode_are_kept_apart(store: KvStore) -> None:
    names = ["a:b", "a", "a%3Ab", "spaced name", "ünï", "*glob?[x]"]
    for i, table in enumerate(names):
        await store.set(table, f"key:{table}", i)
    for i, table in enumerate(names):
        assert await store.entries(table) == [(f"key:{table}", i)]
    assert set(names) <= set(await store.tables())


# ------------------------------------------------------------------ update


async def test_update_applies_ops_and_returns_old_and_new(store: KvStore) -> None:
    old, new = await store.update("t", "c", ops({"type": "increment", "path": "n", "by": 2}))
    assert old is MISSING and new == {"n": 2}
    old, new = await store.update("t", "c", ops({"type": "set", "path": "name", "value": "x"},
                                                 {"type": "set", "path": "tags", "value": ["z"]},
                                                 {"type": "append", "path": "tags", "value": "a"},
                                                 {"type": "decrement", "path": "n", "by": 1}))
    assert old == {"n": 2} and new == {"n": 1, "name": "x", "tags": ["z", "a"]}
    old, new = await store.update("t", "c", ops({"type": "merge", "path": [], "value": {"extra": {"d": 1}}},
                                                 {"type": "remove", "path": "name"}))
    assert new == {"n": 1, "tags": ["z", "a"], "extra": {"d": 1}}
    assert await store.get("t", "c") == new


async def test_a_failing_mutation_writes_nothing(store: KvStore) -> None:
    def boom(old: Any) -> Any:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await store.update("untouched", "k", boom)
    assert await store.get("untouched", "k") is MISSING
    assert "untouched" not in await store.tables()
    await store.set("t", "k", 1)
    with pytest.raises(ValueError):
        await store.update("t", "k", boom)
    assert await store.get("t", "k") == 1


async def test_concurrent_updates_of_one_key_are_atomic(store: KvStore) -> None:
    await asyncio.gather(*(store.update("t", "counter", ops({"type": "increment", "path": "n", "by": 1}))
                           for _ in range(60)))
    assert await store.get("t", "counter") == {"n": 60}


@pytest.mark.needs("shared")
async def test_updates_from_two_stores_on_one_storage_are_atomic(backend: Backend) -> None:
    a, b = await backend.open(), await backend.open()
    inc = ops({"type": "increment", "path": "n", "by": 1})
    await asyncio.gather(*(s.update("t", "counter", inc) for _ in range(40) for s in (a, b)))
    assert await a.get("t", "counter") == {"n": 80}
    assert await b.get("t", "counter") == {"n": 80}


# ------------------------------------------------------------------ listing


async def test_listing_is_in_key_order_in_every_form(store: KvStore) -> None:
    keys = [f"k{i:02d}" for i in range(12)][::-1]
    for i, key in enumerate(keys):
        await store.set("t", key, {"i": i})
    await store.set("t", keys[3], {"i": "updated"})  # an update keeps its place
    expected = [(k, {"i": i}) for i, k in enumerate(keys)]
    expected[3] = (keys[3], {"i": "updated"})
    assert await store.entries("t") == expected
    assert await store.values("t") == [v for _, v in expected]
    raw = await store.raw_items("t")
    assert [k for k, _ in raw] == keys
    assert all(isinstance(body, bytes) for _, body in raw)
    import msgspec

    assert [(k, msgspec.json.decode(body)) for k, body in raw] == expected


async def test_a_large_table_lists_oldest_key_first(store: KvStore) -> None:
    """Past a thousand keys too (a stream group of many items)."""
    keys = [f"item-{i:04d}" for i in range(1200)][::-1]
    for key in keys:
        await store.set("big", key, key)
    assert [k for k, _ in await store.entries("big")] == keys
    assert await store.values("big") == keys
    assert [k for k, _ in await store.raw_items("big")] == keys


async def test_large_values_list_oldest_key_first(store: KvStore) -> None:
    """Values of a realistic size (a stream item of a few hundred bytes) keep the key order."""
    keys = [f"k{i}" for i in range(10)][::-1]
    for key in keys:
        await store.set("wide", key, {"key": key, "text": "x" * 200})
    assert [k for k, _ in await store.entries("wide")] == keys
    assert [v["key"] for v in await store.values("wide")] == keys


async def test_a_key_written_again_after_a_delete_goes_to_the_end(store: KvStore) -> None:
    for key in ("a", "b", "c"):
        await store.set("t", key, {"key": key})
    await store.delete("t", "a")
    await store.set("t", "a", {"key": "again"})
    await store.update("t", "b", ops({"type": "set", "path": "n", "value": 1}))  # in place
    await store.update("t", "d", ops({"type": "set", "path": "n", "value": 2}))  # new: last
    assert [k for k, _ in await store.entries("t")] == ["b", "c", "a", "d"]
    await store.delete("t", "d")
    await store.set("t", "e", 5)
    assert [k for k, _ in await store.raw_items("t")] == ["b", "c", "a", "e"]


async def test_a_table_emptied_and_filled_again_starts_a_new_order(store: KvStore) -> None:
    await store.set("t", "x", 1)
    await store.set("t", "y", 2)
    await store.delete("t", "x")
    await store.delete("t", "y")
    assert await store.entries("t") == []
    await store.set("t", "y", 3)
    await store.set("t", "x", 4)
    assert await store.entries("t") == [("y", 3), ("x", 4)]


@pytest.mark.needs("shared")
async def test_two_stores_writing_at_once_keep_each_writers_order(backend: Backend) -> None:
    """Each writer's keys are listed in the order it wrote them, however the writes interleave;
    deletes and re-inserts from the other store do not lose or duplicate a key."""
    a, b = await backend.open(), await backend.open()

    async def writer(store: KvStore, name: str) -> list[str]:
        kept: list[str] = []
        for i in range(300):
            key = f"{name}{i:03d}"
            await store.set("shared", key, {"by": name, "text": "x" * (100 if i % 7 == 0 else 1)})
            kept.append(key)
            if i % 5 == 4:  # drop an older key of our own and write it again: it moves to the end
                again = kept.pop(len(kept) // 2)
                await store.delete("shared", again)
                await store.update("shared", again, ops({"type": "set", "path": "by", "value": name}))
                kept.append(again)
        return kept

    kept_a, kept_b = await asyncio.gather(writer(a, "a"), writer(b, "b"))
    for reader in (a, b):
        listed = [k for k, _ in await reader.entries("shared")]
        assert sorted(listed) == sorted(kept_a + kept_b)
        assert [k for k in listed if k.startswith("a")] == kept_a
        assert [k for k in listed if k.startswith("b")] == kept_b


async def test_an_unknown_table_is_empty(store: KvStore) -> None:
    assert await store.entries("nope") == []
    assert await store.values("nope") == []
    assert await store.raw_items("nope") == []
    assert "nope" not in await store.tables()


async def test_tables_lists_the_tables_that_hold_keys(store: KvStore) -> None:
    await store.set("g1", "a", 1)
    await store.set("g2", "a", 1)
    await store.set("g2", "b", 1)
    assert {"g1", "g2"} <= set(await store.tables())
    await store.delete("g1", "a")
    tables = await store.tables()
    assert "g1" not in tables and "g2" in tables


# ------------------------------------------------------------------ migrate_tables


async def test_migrate_tables_renames_once(store: KvStore) -> None:
    await store.set("old", "a", 1)
    await store.set("old", "b", 2)
    await store.set("keep", "c", 3)
    seen: list[list[str]] = []

    def plan(names: list[str]) -> dict[str, str]:
        seen.append(sorted(names))
        return {"old": "new", "keep": "keep", "absent": "elsewhere"}

    assert await store.migrate_tables("m1", plan) == 1
    assert seen == [["keep", "old"]]
    assert await store.entries("new") == [("a", 1), ("b", 2)]
    assert await store.entries("old") == []
    assert await store.entries("keep") == [("c", 3)]
    assert await store.migrate_tables("m1", plan) == 0  # recorded: the plan is not even asked
    assert len(seen) == 1


async def test_migrate_tables_merges_into_an_existing_target(store: KvStore) -> None:
    await store.set("src", "shared", "from src")
    await store.set("src", "only-src", 1)
    await store.set("dst", "shared", "from dst")
    assert await store.migrate_tables("merge", lambda names: {"src": "dst"}) == 1
    assert dict(await store.entries("dst")) == {"shared": "from dst", "only-src": 1}
    assert "src" not in await store.tables()


async def test_concurrent_migrations_run_once(store: KvStore) -> None:
    await store.set("a", "k", 1)
    results = await asyncio.gather(*(store.migrate_tables("once", lambda names: {"a": "b"}) for _ in range(5)))
    assert sorted(results) == [0, 0, 0, 0, 1]
    assert await store.entries("b") == [("k", 1)]


# ------------------------------------------------------------------ durability and sharing


@pytest.mark.needs("durable")
async def test_a_reopened_store_has_every_acknowledged_write(backend: Backend) -> None:
    a = await backend.open()
    await a.set("t", "kept", {"v": 1})
    await a.set("t", "gone", 2)
    await a.delete("t", "gone")
    await a.update("t", "count", ops({"type": "increment", "path": "n", "by": 5}))
    await a.migrate_tables("done", lambda names: {})
    await a.close()
    b = await backend.open()
    assert await b.entries("t") == [("kept", {"v": 1}), ("count", {"n": 5})]
    assert await b.migrate_tables("done", lambda names: {"t": "renamed"}) == 0
    assert "t" in await b.tables()


@pytest.mark.needs("shared")
async def test_two_stores_on_one_storage_see_each_others_writes(backend: Backend) -> None:
    a, b = await backend.open(), await backend.open()
    await a.set("t", "k", "from a")
    assert await b.get("t", "k") == "from a"
    assert await b.set("t", "k", "from b") == "from a"
    assert await a.delete("t", "k") == "from b"
    assert await b.get("t", "k") is MISSING


# ------------------------------------------------------------------ change events


async def test_a_change_event_reaches_every_listener_as_published(backend: Backend) -> None:
    store = await backend.open()
    bus = store.change_bus(f"{backend.namespace}:events")
    first: list[bytes] = []
    second: list[bytes] = []
    bus.listen(first.append)
    bus.listen(second.append)
    await bus.start()
    try:
        events = [b'{"event":"create","n":%d}' % i for i in range(20)]
        for event in events:
            await bus.publish(event)
        await eventually(lambda: first == events and second == events, what="20 events, in order, to both")
    finally:
        await bus.stop()


@pytest.mark.needs("shared_events")
async def test_change_events_travel_between_stores_on_one_storage(backend: Backend) -> None:
    a, b = await backend.open(), await backend.open()
    channel = f"{backend.namespace}:events"
    bus_a, bus_b = a.change_bus(channel), b.change_bus(channel)
    got_a: list[bytes] = []
    got_b: list[bytes] = []
    bus_a.listen(got_a.append)
    bus_b.listen(got_b.append)
    await bus_a.start()
    await bus_b.start()
    try:
        await bus_a.publish(b'"from a"')
        await bus_b.publish(b'"from b"')
        # one order of events for every engine, its own included
        await eventually(lambda: got_a == got_b and len(got_a) == 2, what="both events on both buses")
    finally:
        await bus_a.stop()
        await bus_b.stop()
