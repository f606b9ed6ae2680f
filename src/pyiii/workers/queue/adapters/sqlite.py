"""Durable SQLite adapter (the default).

One table of messages; a message is *visible* when ``visible_at <= now``. Leasing a message sets
``leased = 1`` and ``visible_at`` to the lease expiry, so an unrenewed lease (a dead consumer)
makes it visible again without any sweeper. Every change is committed (WAL) before the caller
is answered; on open, rows leased by a previous process of this file are made visible at once.
One engine process owns a file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from pyiii.workers.queue.adapters.base import BacklogFull, LegacyMove, QueueAdapter
from pyiii.workers.queue.adapters.signals import QueueSignals
from pyiii.workers.queue.adapters.sqlite_legacy import move_legacy
from pyiii.workers.queue.adapters.sqlite_writer import SqliteWriter
from pyiii.workers.queue.adapters.subscribers import TopicSubscribers
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
    now_ms,
    subscriber_queue,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    visible_at INTEGER NOT NULL,
    leased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_queue_seq ON messages(queue, seq);
CREATE INDEX IF NOT EXISTS messages_queue_visible ON messages(queue, visible_at);
CREATE TABLE IF NOT EXISTS dead (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_queue_time ON dead(queue, failed_at);
CREATE TABLE IF NOT EXISTS subscriptions (
    topic TEXT NOT NULL,
    -- the subscriber: naming.subscriber_key(function id, namespace); a bare function id before
    -- namespaces (moved by sqlite_legacy)
    function_id TEXT NOT NULL,
    PRIMARY KEY (topic, function_id)
);
"""

_INSERT = "INSERT INTO messages (id, queue, body, visible_at) VALUES (?, ?, ?, ?)"


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteAdapter(QueueAdapter):
    broker_type = "builtin"

    def __init__(self, path: Path, synchronous: str = "FULL", max_batch: int = 512) -> None:
        self.path = path
        self.description = f"SQLite {path}"
        self._db = SqliteWriter(path, synchronous, max_batch)
        self._signals = QueueSignals()
        self._subs = TopicSubscribers()

    async def start(self) -> None:
        self._db.start(SCHEMA)

        def load(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            conn.execute("UPDATE messages SET leased = 0, visible_at = 0 WHERE leased = 1")
            return conn.execute("SELECT topic, function_id FROM subscriptions ORDER BY rowid").fetchall()

        for topic, function_id in await self._db.run(load):
            self._subs.add(topic, function_id)

    async def close(self) -> None:
        await self._db.close()

    async def move_legacy_subscriber_queues(self) -> list[LegacyMove]:
        moves = await self._db.run(move_legacy)
        rows = await self._db.run(lambda c: c.execute("SELECT topic, function_id FROM subscriptions ORDER BY rowid")
                                  .fetchall())
        self._subs = TopicSubscribers()
        for topic, subscriber in rows:
            self._subs.add(topic, subscriber)
        for move in moves:
            self._signals.wake(move.target)
        return moves

    # ------------------------------------------------------------- topics

    async def add_subscriber(self, topic: str, subscriber: str) -> int:
        if self._subs.has(topic, subscriber):
            return 0
        first = not self._subs.of(topic)
        self._subs.add(topic, subscriber)
        target = subscriber_queue(topic, subscriber)

        def subscribe(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT OR IGNORE INTO subscriptions VALUES (?, ?)", (topic, subscriber))
            if not first:
                return 0
            rows = conn.execute("SELECT seq, body FROM messages WHERE queue = ? ORDER BY seq",
                                (backlog_queue(topic),)).fetchall()
            for seq, body in rows:
                moved = decode_message(body).copy_to(target)
                conn.execute("DELETE FROM messages WHERE seq = ?", (seq,))
                conn.execute(_INSERT, (moved.id, target, encode_message(moved), 0))
            return len(rows)

        moved = await self._db.run(subscribe)
        if moved:
            self._signals.wake(target)
        return moved

    async def remove_subscriber(self, topic: str, subscriber: str) -> None:
        self._subs.remove(topic, subscriber)
        await self._db.run(lambda c: c.execute("DELETE FROM subscriptions WHERE topic = ? AND function_id = ?",
                                               (topic, subscriber)))

    async def subscribers(self, topic: str) -> list[str]:
        return self._subs.of(topic)

    async def topics(self) -> list[str]:
        def backlogged(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT DISTINCT queue FROM messages WHERE queue LIKE '\\_\\_backlog::%' ESCAPE '\\'")
            return [r[0].removeprefix("__backlog::") for r in rows]

        return sorted(self._subs.topics() | set(await self._db.run(backlogged)))

    async def publish_topic(self, topic: str, message: QueueMessage, max_backlog: int) -> int:
        subs = self._subs.of(topic)
        if not subs:
            target = backlog_queue(topic)
            copy = message.copy_to(target)

            def to_backlog(conn: sqlite3.Connection) -> None:
                (depth,) = conn.execute("SELECT COUNT(*) FROM messages WHERE queue = ?", (target,)).fetchone()
                if depth >= max_backlog:
                    raise BacklogFull(topic, max_backlog)
                conn.execute(_INSERT, (copy.id, target, encode_message(copy), 0))

            await self._db.run(to_backlog)
            return 0
        copies = [message.copy_to(subscriber_queue(topic, fn)) for fn in subs]
        rows = [(c.id, c.queue, encode_message(c), 0) for c in copies]
        await self._db.run(lambda conn: conn.executemany(_INSERT, rows))
        for c in copies:
            self._signals.wake(c.queue)
        return len(copies)

    # ------------------------------------------------------------- queues

    async def publish(self, message: QueueMessage) -> None:
        row = (message.id, message.queue, encode_message(message), 0)
        await self._db.run(lambda conn: conn.execute(_INSERT, row))
        self._signals.wake(message.queue)

    async def receive(self, queue: str, max_count: int, lease_ms: int) -> list[Delivery]:
        event = self._signals.event(queue)

        def claim(conn: sqlite3.Connection) -> tuple[list[tuple[int, bytes]], int | None]:
            now = now_ms()
            rows = conn.execute(
                "SELECT seq, body FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                (queue, now, max_count),
            ).fetchall()
            if rows:
                seqs = [r[0] for r in rows]
                conn.execute(f"UPDATE messages SET leased = 1, visible_at = ? WHERE seq IN ({_marks(len(seqs))})",
                             (now + lease_ms, *seqs))
                return rows, None
            (due,) = conn.execute("SELECT MIN(visible_at) FROM messages WHERE queue = ?", (queue,)).fetchone()
            return [], due

        while True:
            event.clear()
            rows, due = await self._db.run(claim)
            if rows:
                return [Delivery(decode_message(body), seq) for seq, body in rows]
            await self._signals.wait(event, None if due is None else (due - now_ms()) / 1000)

    async def ack(self, delivery: Delivery) -> None:
        await self._db.run(lambda c: c.execute("DELETE FROM messages WHERE seq = ?", (delivery.handle,)))

    async def requeue(self, delivery: Delivery, message: QueueMessage, delay_ms: int, keep_place: bool) -> None:
        visible_at = now_ms() + delay_ms if delay_ms > 0 else 0
        body = encode_message(message)

        def requeue(conn: sqlite3.Connection) -> None:
            if keep_place:
                conn.execute("UPDATE messages SET body = ?, visible_at = ?, leased = 0 WHERE seq = ?",
                             (body, visible_at, delivery.handle))
                return
            # A retried message goes to the back, so that failing messages at the head of a
            # deep queue do not have to be skipped by every claim.
            cur = conn.execute("DELETE FROM messages WHERE seq = ?", (delivery.handle,))
            if cur.rowcount:
                conn.execute(_INSERT, (message.id, message.queue, body, visible_at))

        await self._db.run(requeue)
        # Delayed too: a waiting consumer recomputes its deadline.
        self._signals.wake(message.queue)

    async def bury(self, delivery: Delivery, dead: DeadLetter) -> None:
        message = dead.message

        def bury(conn: sqlite3.Connection) -> None:
            cur = conn.execute("DELETE FROM messages WHERE seq = ?", (delivery.handle,))
            if cur.rowcount:
                conn.execute("INSERT OR REPLACE INTO dead VALUES (?, ?, ?, ?)",
                             (message.id, message.queue, encode_dead(dead), dead.failed_at))

        await self._db.run(bury)

    async def extend(self, deliveries: Sequence[Delivery], lease_ms: int) -> None:
        seqs = [d.handle for d in deliveries]
        if not seqs:
            return
        until = now_ms() + lease_ms
        await self._db.run(lambda c: c.execute(
            f"UPDATE messages SET visible_at = ? WHERE leased = 1 AND seq IN ({_marks(len(seqs))})", (until, *seqs)))

    # ------------------------------------------------------------- inspection and DLQ

    async def stats(self, queue: str) -> QueueStats:
        def count(conn: sqlite3.Connection) -> QueueStats:
            now = now_ms()
            (leased, delayed, total) = conn.execute(
                "SELECT COALESCE(SUM(leased), 0), COALESCE(SUM(leased = 0 AND visible_at > ?), 0), COUNT(*) "
                "FROM messages WHERE queue = ?", (now, queue)).fetchone()
            (dead,) = conn.execute("SELECT COUNT(*) FROM dead WHERE queue = ?", (queue,)).fetchone()
            return QueueStats(total - leased - delayed, delayed, leased, dead)

        return await self._db.run(count)

    async def dlq_counts(self) -> dict[str, int]:
        rows = await self._db.run(lambda c: c.execute("SELECT queue, COUNT(*) FROM dead GROUP BY queue").fetchall())
        return {q: n for q, n in rows}

    async def dlq_list(self, queues: Sequence[str], offset: int, limit: int) -> list[DeadLetter]:
        names = list(queues)
        if not names:
            return []
        rows = await self._db.run(lambda c: c.execute(
            f"SELECT body FROM dead WHERE queue IN ({_marks(len(names))}) ORDER BY failed_at DESC, rowid DESC "
            "LIMIT ? OFFSET ?", (*names, limit, offset)).fetchall())
        return [decode_dead(body) for (body,) in rows]

    async def redrive(self, queues: Sequence[str], message_id: str | None) -> int:
        names = list(queues)
        if not names:
            return 0

        def redrive(conn: sqlite3.Connection) -> list[str]:
            sql = f"SELECT id, body FROM dead WHERE queue IN ({_marks(len(names))})"
            params: tuple[str, ...] = tuple(names)
            if message_id is not None:
                sql += " AND id = ?"
                params = (*params, message_id)
            touched: list[str] = []
            for mid, body in conn.execute(sql + " ORDER BY failed_at", params).fetchall():
                message = decode_dead(body).redriven()
                conn.execute("DELETE FROM dead WHERE id = ?", (mid,))
                conn.execute("DELETE FROM messages WHERE id = ?", (message.id,))
                conn.execute(_INSERT, (message.id, message.queue, encode_message(message), 0))
                touched.append(message.queue)
            return touched

        touched = await self._db.run(redrive)
        for queue in set(touched):
            self._signals.wake(queue)
        return len(touched)

    async def discard(self, queues: Sequence[str], message_id: str) -> bool:
        names = list(queues)
        if not names:
            return False
        cur = await self._db.run(lambda c: c.execute(
            f"DELETE FROM dead WHERE id = ? AND queue IN ({_marks(len(names))})", (message_id, *names)).rowcount)
        return bool(cur)
