"""A SQLite queue file written before subscriber queues had namespaces (by the code of commit
27354f2, see data/make_pre_namespace_queue.py) is moved to the namespaced names when the engine
starts, and every message is delivered once, in the namespace `default`."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from tests.integration.queue.conftest import queue_engine, trigger_ready
from tests.support.waiting import eventually_sync

DUMP = Path(__file__).parent / "data" / "pre_namespace_queue.sql"


def _old_file(tmp_path: Path) -> Path:
    path = tmp_path / "old-queue.db"
    conn = sqlite3.connect(path)
    conn.executescript(DUMP.read_text())
    conn.close()
    return path


def _worker(sdk: Any, url: str, got: dict[str, list[Any]]) -> Any:
    worker = sdk(url)
    lock = threading.Lock()

    def handler(name: str) -> Any:
        def run(data: Any) -> None:
            with lock:
                got.setdefault(name, []).append(data)
        return run

    for fid, topic in [("svc::charge", "orders"), ("audit::log", "orders"), ("late::reader", "later")]:
        worker.register_function(fid, handler(fid))
        worker.register_trigger({"type": "durable:subscriber", "function_id": fid, "config": {"topic": topic}})
    worker.register_function("svc::job", handler("svc::job"))
    for fid in ("svc::charge", "audit::log", "late::reader"):
        trigger_ready(worker, fid)
    return worker


def test_a_pre_namespace_sqlite_file_is_moved_on_start_and_nothing_is_lost(tmp_path: Path, sdk: Any) -> None:
    db = _old_file(tmp_path)
    config = {"adapter": {"name": "sqlite", "config": {"file_path": str(db)}}}
    engine = queue_engine(tmp_path, config).start()
    got: dict[str, list[Any]] = {}
    try:
        worker = _worker(sdk, engine.url, got)
        eventually_sync(lambda: len(got.get("audit::log", [])) == 4 and len(got.get("svc::charge", [])) == 2
                        and got.get("late::reader") and got.get("svc::job"), timeout=20)
        assert sorted(d["order"] for d in got["audit::log"]) == [0, 1, 2, 3]
        assert sorted(d["order"] for d in got["svc::charge"]) == [0, 3]  # #1 waits for its retry, #2 is dead
        assert got["late::reader"] == [{"early": True}] and got["svc::job"] == [{"job": 1}]
        stats = worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {"topic": "orders"}})
        assert (stats["delayed"], stats["dlq_depth"]) == (1, 1)
        (dead,) = worker.trigger({"function_id": "engine::queue::dlq_messages", "payload": {"topic": "orders"}})
        assert (dead["payload"], dead["function_id"], dead["namespace"]) == ({"order": 2}, "svc::charge", "default")
        assert dead["queue"] == "orders::svc::charge@default" and "boom" in dead["error"]
        topics = worker.trigger({"function_id": "engine::queue::list_topics", "payload": {}})
        orders = next(t for t in topics if t["name"] == "orders")
        assert sorted((s["function_id"], s["namespace"]) for s in orders["subscribers"]) == [
            ("audit::log", "default"), ("svc::charge", "default")]
    finally:
        engine.stop()
    logs = engine.logs()
    assert logs.count("Drained legacy subscriber queue into its namespace") == 2, logs[-3000:]
    assert "orders::svc::charge -> orders::svc::charge@default (3 message(s), 1 dead letter(s))" in logs
    assert "moved 2 pre-namespace subscriber queue(s) to their `default` names: 7 message(s), 1 dead letter(s)" in logs

    # A second start moves nothing and delivers nothing twice.
    conn = sqlite3.connect(db)
    queues = sorted(q for (q,) in conn.execute("SELECT DISTINCT queue FROM messages UNION SELECT queue FROM dead"))
    subscribers = sorted(conn.execute("SELECT topic, function_id FROM subscriptions").fetchall())
    conn.close()
    assert queues == ["orders::svc::charge@default"]  # the retry and the dead letter; the rest was acked
    assert subscribers == [("later", "late::reader@default"), ("orders", "audit::log@default"),
                           ("orders", "svc::charge@default")]
    engine.log_path.unlink()
    again = queue_engine(tmp_path, config).start()
    seen: dict[str, list[Any]] = {}
    try:
        worker = _worker(sdk, again.url, seen)
        stats = worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {"topic": "orders"}})
        assert (stats["waiting"], stats["in_flight"], stats["delayed"], stats["dlq_depth"]) == (0, 0, 1, 1)
    finally:
        again.stop()
    assert seen == {} and "Drained legacy" not in again.logs()
