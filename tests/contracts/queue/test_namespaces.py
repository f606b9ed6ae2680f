"""Subscriber queues per namespace and the one-time move of pre-namespace subscriber queues
(spec iii-0.23-0.25 §1.11), against every backend.

Before namespaces a topic's subscriber was stored as the bare function id and its queue was
``<topic>::<fid>``; an adapter given a bare function id as the subscriber writes exactly that
layout (``subscriber_queue(topic, fid)`` is ``<topic>::<fid>`` for plain names), which is how
these tests lay down "old" data. tests/integration/queue/test_legacy_sqlite_file.py starts from a
file written by the code before the change.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.message import QueueStats, subscriber_queue
from pyiii.workers.queue.naming import subscriber_key
from tests.contracts.queue.conftest import Backend
from tests.contracts.queue.support import dead_letters, message, nothing_within, payloads, qname, take

#: A subscriber as stored before namespaces: the bare function id.
LEGACY = "svc::charge"
#: Far enough ahead that the retry is still delayed when the test looks.
LATER_MS = 600_000


async def _write_legacy(adapter: QueueAdapter, topic: str, ids: dict[str, str] | None = None) -> str:
    """The pre-namespace layout with a message in every state: one in flight when the engine
    goes away, one delayed retry, one dead letter, two waiting. Returns the old queue name;
    ``ids`` receives the message ids the old layout delivered."""
    old = f"{topic}::{LEGACY}"
    assert subscriber_queue(topic, LEGACY) == old  # the layout the old code wrote
    await adapter.add_subscriber(topic, LEGACY)
    for i in range(5):
        assert await adapter.publish_topic(topic, message(topic, i), 100) == 1
    in_flight, retried, dead = await take(adapter, old, 3)
    await adapter.retry(retried, LATER_MS)
    await adapter.dead_letter(dead, "boom")
    if ids is not None:
        ids.update(in_flight=in_flight.message.id, dead=dead.message.id)
    return old


def _legacy_module(backend: Backend) -> Any:
    return importlib.import_module(f"pyiii.workers.queue.adapters.{backend.name}_legacy")


@pytest.mark.needs("moves_legacy")
async def test_a_pre_namespace_subscriber_queue_moves_to_its_default_name_with_everything(backend: Backend) -> None:
    a = await backend.open()
    topic = qname("topic")
    ids: dict[str, str] = {}
    old = await _write_legacy(a, topic, ids)
    await a.close()

    b = await backend.open()
    new = subscriber_queue(topic, subscriber_key(LEGACY))
    moves = await b.move_legacy_subscriber_queues()
    assert [(m.queue, m.target, m.messages, m.dead_letters) for m in moves] == [(old, new, 4, 1)]
    assert await b.subscribers(topic) == [subscriber_key(LEGACY)]
    # the one in flight comes back first, then the waiting ones, each once
    got = await take(b, new, 3)
    assert payloads(got) == [0, 3, 4]
    assert all(d.message.queue == new for d in got)
    assert got[0].message.id == ids["in_flight"]  # the same message, not a copy with a new id
    assert (await b.stats(new)).delayed == 1
    (letter,) = await b.dlq_list([new], 0, 10)
    assert (letter.message.decoded_data(), letter.error, letter.message.queue) == (2, "boom", new)
    assert letter.message.id == ids["dead"]
    assert await b.stats(old) == QueueStats() and await b.dlq_list([old], 0, 10) == []
    await nothing_within(b, new, 0.3)
    # new publishes go to the new name only
    assert await b.publish_topic(topic, message(topic, "after"), 100) == 1
    assert payloads(await take(b, new, 1)) == ["after"]
    for d in got:
        await b.ack(d)

    assert await b.move_legacy_subscriber_queues() == []  # idempotent
    await b.close()
    c = await backend.open()
    assert await c.move_legacy_subscriber_queues() == []
    stats = await c.stats(new)
    assert (stats.waiting + stats.in_flight, stats.delayed, stats.dead) == (1, 1, 1)  # "after", the retry, the DLQ


@pytest.mark.needs("moves_legacy")
async def test_a_move_cut_short_finishes_on_the_next_start_without_loss_or_copies(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    a = await backend.open()
    topics = [qname("topic") for _ in range(3)]
    olds = [await _write_legacy(a, topic) for topic in topics]
    await a.close()

    module = _legacy_module(backend)
    real = module._move_queue
    done: list[str] = []

    def crash_after_one(*args: Any) -> Any:
        if done:
            raise RuntimeError("engine killed mid-move")
        done.append("x")
        return real(*args)

    monkeypatch.setattr(module, "_move_queue", crash_after_one)
    b = await backend.open()
    with pytest.raises(RuntimeError, match="mid-move"):
        await b.move_legacy_subscriber_queues()
    await b.close()
    monkeypatch.setattr(module, "_move_queue", real)

    c = await backend.open()
    moved = await c.move_legacy_subscriber_queues()
    assert {m.queue for m in moved} <= set(olds) and moved  # what the cut-short run had not finished
    for topic, old in zip(topics, olds, strict=True):
        new = subscriber_queue(topic, subscriber_key(LEGACY))
        assert payloads(await take(c, new, 3)) == [0, 3, 4]
        await nothing_within(c, new, 0.2)
        stats = await c.stats(new)
        assert (stats.delayed, stats.dead) == (1, 1)
        assert await c.stats(old) == QueueStats()


async def test_each_namespace_of_a_function_has_its_own_subscriber_queue(adapter: QueueAdapter) -> None:
    topic = qname("t@x\\y")  # the separator and the escape character in a topic name
    in_a, in_b = subscriber_key("svc::job", "a"), subscriber_key("svc::job", "b")
    await adapter.add_subscriber(topic, in_a)
    await adapter.add_subscriber(topic, in_b)
    assert sorted(await adapter.subscribers(topic)) == sorted([in_a, in_b])
    assert await adapter.publish_topic(topic, message(topic, "hi"), 100) == 2
    (da,) = await take(adapter, subscriber_queue(topic, in_a), 1)
    (db,) = await take(adapter, subscriber_queue(topic, in_b), 1)
    assert da.message.queue == f"{topic.replace(chr(92), chr(92) * 2).replace('@', chr(92) + '@')}::svc::job@a"
    assert payloads([da, db]) == ["hi", "hi"] and da.message.id != db.message.id
    await adapter.remove_subscriber(topic, in_b)
    assert await adapter.publish_topic(topic, message(topic, "only a"), 100) == 1
    assert payloads(await take(adapter, subscriber_queue(topic, in_a), 1)) == ["only a"]
    await nothing_within(adapter, subscriber_queue(topic, in_b), 0.3)


@pytest.mark.needs("moves_legacy_on_bind")
async def test_a_pre_namespace_queue_moves_when_its_default_subscriber_binds(backend: Backend) -> None:
    a = await backend.open()
    topic = qname("topic")
    old = f"{topic}::{LEGACY}"
    await a.add_subscriber(topic, LEGACY)
    for i in range(5):
        await a.publish_topic(topic, message(topic, i), 100)
    in_flight, retried, dead = await take(a, old, 3)
    await a.retry(retried, 1500)  # comes back to the old queue after the move has begun
    await a.dead_letter(dead, "boom")
    await a.close()  # the one in flight goes back to the old queue

    b = await backend.open()
    assert await b.move_legacy_subscriber_queues() == []  # nothing to list: it moves on bind
    key = subscriber_key(LEGACY)
    new = subscriber_queue(topic, key)
    await b.add_subscriber(topic, key)
    got = await take(b, new, 4)
    assert sorted(payloads(got)) == [0, 1, 3, 4]
    assert all(d.message.queue == new for d in got)
    assert in_flight.message.id in {d.message.id for d in got}  # the same message, not a copy
    (letter,) = await dead_letters(b, new, 1)
    assert (letter.message.decoded_data(), letter.error, letter.message.queue) == (2, "boom", new)
    assert await b.publish_topic(topic, message(topic, "after"), 100) == 1
    assert payloads(await take(b, new, 1)) == ["after"]
    await nothing_within(b, new, 0.3)
    assert (await b.stats(old)).waiting == 0  # unbound: no copies there any more


async def _store_raw(backend: Backend, adapter: Any, queue: str, body: bytes) -> None:
    """A body the adapter would not write itself (corrupted on disk, or by another tool)."""
    if backend.name == "sqlite":
        await adapter._db.run(lambda c: c.execute(
            "INSERT INTO messages (id, queue, body, visible_at) VALUES (?, ?, ?, 0)", ("raw-1", queue, body)))
    else:
        await adapter._redis.xadd(adapter._s(queue), {"m": body})
        await adapter._redis.sadd(adapter._queues, queue)


@pytest.mark.needs("moves_legacy")
async def test_an_undecodable_message_moves_as_it_is_and_does_not_stop_the_move(backend: Backend) -> None:
    a = await backend.open()
    topic = qname("topic")
    old = await _write_legacy(a, topic)
    await _store_raw(backend, a, old, b"not json")
    await a.close()
    b = await backend.open()
    (move,) = await b.move_legacy_subscriber_queues()
    assert (move.queue, move.messages, move.dead_letters) == (old, 5, 1)
    assert await b.stats(old) == QueueStats()
