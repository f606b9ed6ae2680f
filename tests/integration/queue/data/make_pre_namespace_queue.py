"""Writes ``pre_namespace_queue.sql``: a SQLite queue file made by pyiii BEFORE subscriber
queues had namespaces (commit 27354f2), dumped as SQL so the fixture stays reviewable text.

Run it with that version on the path, e.g.::

    git -C /path/to/pyiii archive 27354f2 src | tar -x -C /tmp/pyiii-27354f2
    PYTHONPATH=/tmp/pyiii-27354f2/src python tests/integration/queue/data/make_pre_namespace_queue.py

What it holds (tests/integration/queue/test_legacy_sqlite_file.py relies on it): topic ``orders``
with subscribers ``svc::charge`` and ``audit::log``; four publishes. ``svc::charge``'s copies:
#0 in flight (leased when the engine stopped), #1 a retry due far in the future, #2 dead
(error ``boom``), #3 waiting. ``audit::log``'s four copies wait. Topic ``later`` has a backlog of
one message and no subscriber; the named queue ``default`` has one job for ``svc::job``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path

import msgspec

from pyiii.workers.queue.adapters.sqlite import SqliteAdapter
from pyiii.workers.queue.message import QueueMessage, now_ms

OUT = Path(__file__).with_name("pre_namespace_queue.sql")
DAY_MS = 86_400_000


def message(queue: str, data: object, **kw: object) -> QueueMessage:
    return QueueMessage(id=str(uuid.uuid4()), queue=queue, data=msgspec.Raw(msgspec.json.encode(data)),
                        created_at=now_ms(), **kw)  # type: ignore[arg-type]


async def write(path: Path) -> None:
    adapter = SqliteAdapter(path)
    await adapter.start()
    await adapter.add_subscriber("orders", "svc::charge")
    await adapter.add_subscriber("orders", "audit::log")
    for i in range(4):
        await adapter.publish_topic("orders", message("orders", {"order": i}), 100)
    first, retried, dead = await adapter.receive("orders::svc::charge", 3, 60_000)
    assert [d.message.decoded_data()["order"] for d in (first, retried, dead)] == [0, 1, 2]
    await adapter.retry(retried, 30 * DAY_MS)
    await adapter.dead_letter(dead, "boom")
    await adapter.publish_topic("later", message("later", {"early": True}), 100)
    await adapter.publish(message("__fn_queue::default", {"job": 1}, function_id="svc::job"))
    await adapter.close()  # `first` stays leased, as after a crash


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue.db"
        asyncio.run(write(path))
        conn = sqlite3.connect(path)
        OUT.write_text("\n".join(conn.iterdump()) + "\n")
        conn.close()
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
