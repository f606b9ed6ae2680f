"""The one-time move of pre-namespace subscriber queues in a SQLite queue file (spec
iii-0.23-0.25 §1.11): ``<topic>::<fid>`` becomes ``<topic>::<fid>@default``.

It runs as one operation of the writer thread, so in one transaction: a crash before the commit
leaves the file as it was, after it the move is complete. Renaming rows in place keeps each
message's place (``seq``), its due time (a delayed retry stays delayed) and its counts; rows
leased by the previous process were released when the file was opened, so in-flight messages
move as waiting ones. Run again, it finds nothing to move.
"""

from __future__ import annotations

import sqlite3

from pyiii.workers.queue.adapters.base import LegacyMove
from pyiii.workers.queue.message import (
    moved_dead,
    moved_message,
)
from pyiii.workers.queue.naming import is_legacy_subscriber, is_legacy_subscriber_queue, legacy_target, subscriber_key


def move_legacy(conn: sqlite3.Connection) -> list[LegacyMove]:
    stored = conn.execute("SELECT DISTINCT queue FROM messages UNION SELECT DISTINCT queue FROM dead")
    names = {row[0] for row in stored}
    moves = [_move_queue(conn, name) for name in sorted(names) if is_legacy_subscriber_queue(name)]
    _move_subscriptions(conn)
    return moves


def _move_queue(conn: sqlite3.Connection, name: str) -> LegacyMove:
    target = legacy_target(name)
    rows = conn.execute("SELECT seq, body FROM messages WHERE queue = ?", (name,)).fetchall()
    for seq, body in rows:
        conn.execute("UPDATE messages SET queue = ?, body = ?, leased = 0 WHERE seq = ?",
                     (target, moved_message(body, target), seq))
    dead = conn.execute("SELECT id, body FROM dead WHERE queue = ?", (name,)).fetchall()
    for mid, body in dead:
        conn.execute("UPDATE dead SET queue = ?, body = ? WHERE id = ?", (target, moved_dead(body, target), mid))
    return LegacyMove(name, target, len(rows), len(dead))


def _move_subscriptions(conn: sqlite3.Connection) -> None:
    """A subscription stored as a bare function id becomes that function's subscriber in default."""
    for topic, stored in conn.execute("SELECT topic, function_id FROM subscriptions ORDER BY rowid").fetchall():
        if is_legacy_subscriber(stored):
            # OR REPLACE: a row already there for the new key gives way; this one keeps its order.
            conn.execute("UPDATE OR REPLACE subscriptions SET function_id = ? WHERE topic = ? AND function_id = ?",
                         (subscriber_key(stored), topic, stored))
