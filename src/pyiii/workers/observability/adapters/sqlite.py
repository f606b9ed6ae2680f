"""A SQLite store that survives restarts. Writes are queued and committed in batches by one
thread (never on the event loop); reads run in a thread on their own connection (WAL).

Retention after every batch: rows beyond ``max_count``, beyond ``max_bytes`` (sum of the
JSON sizes) and older than ``max_age_seconds`` are deleted, oldest first. The write queue is
bounded too: when the disk falls behind, the oldest queued records are dropped and counted.
Records still queued when the process is killed (at most one flush interval) are lost;
a clean stop flushes them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Any

import orjson

from pyiii.workers.observability.adapters.base import Caps, TimeRange, now_ns

log = logging.getLogger("pyiii.observability.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL,
    start_ns INTEGER NOT NULL, stored_ns INTEGER NOT NULL, size INTEGER NOT NULL, body BLOB NOT NULL,
    UNIQUE (trace_id, span_id));
CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ns);
CREATE INDEX IF NOT EXISTS spans_stored ON spans (stored_ns);
CREATE TABLE IF NOT EXISTS logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT, ts_ns INTEGER NOT NULL, stored_ns INTEGER NOT NULL, size INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS logs_ts ON logs (ts_ns);
CREATE INDEX IF NOT EXISTS logs_stored ON logs (stored_ns);
CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id);
"""

_Item = tuple[str, dict[str, Any]]  # ("span" | "log", record)


class SqliteStore:
    def __init__(
        self,
        path: Path,
        span_caps: Caps,
        log_caps: Caps,
        *,
        batch_size: int = 512,
        flush_interval_ms: int = 50,
        queue_max: int = 50_000,
    ) -> None:
        self.path = path
        self.span_caps = span_caps
        self.log_caps = log_caps
        self.batch_size = batch_size
        self.flush_interval = flush_interval_ms / 1000
        self.queue_max = queue_max
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)
        self._reader = self._connect()
        self._read_lock = threading.Lock()
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self.dropped = 0
        self.written = 0
        # Every record ever queued, and every one settled (written, dropped, cleared or failed):
        # flush() waits on these, not on the queue, since a batch leaves the queue before it is written.
        self._queued_total = 0
        self._settled = 0
        self._counts = {"spans": (0, 0), "logs": (0, 0)}
        self._refresh_counts()
        self._thread = threading.Thread(target=self._run, name="pyiii-observability-sqlite", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    # ------------------------------------------------------------------ writes (any thread)

    def add_spans(self, spans: list[dict[str, Any]]) -> None:
        self._enqueue([("span", s) for s in spans])

    def add_logs(self, logs: list[dict[str, Any]]) -> None:
        self._enqueue([("log", r) for r in logs])

    def _enqueue(self, items: list[_Item]) -> None:
        with self._cond:
            self._queue.extend(items)
            self._queued_total += len(items)
            overflow = len(self._queue) - self.queue_max
            for _ in range(max(0, overflow)):
                self._queue.popleft()
                self.dropped += 1
                self._settled += 1
            if len(self._queue) >= self.batch_size:
                self._cond.notify()

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._closing:
                    self._cond.wait(self.flush_interval)
                if not self._queue and self._closing:
                    return
                batch = [self._queue.popleft() for _ in range(min(self.batch_size * 8, len(self._queue)))]
            if not batch:
                continue
            try:
                self._write(batch)
            except sqlite3.Error:
                log.exception("observability store: a batch of %d records was not written", len(batch))
            finally:
                with self._cond:
                    self._settled += len(batch)

    def _write(self, batch: list[_Item]) -> None:
        stamp = now_ns()
        spans, logs = [], []
        for kind, record in batch:
            body = orjson.dumps(record, default=str)
            if kind == "span":
                spans.append((record["trace_id"], record["span_id"], record.get("start_time_unix_nano") or 0,
                              stamp, len(body), body))
            else:
                logs.append((record.get("trace_id"), record.get("timestamp_unix_nano") or 0, stamp, len(body), body))
        db = self._writer
        db.execute("BEGIN")
        try:
            if spans:
                db.executemany(
                    "INSERT OR REPLACE INTO spans (trace_id, span_id, start_ns, stored_ns, size, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)", spans)
            if logs:
                db.executemany("INSERT INTO logs (trace_id, ts_ns, stored_ns, size, body) VALUES (?, ?, ?, ?, ?)", logs)
            self._refresh_counts()
            self._enforce("spans", self.span_caps, stamp)
            self._enforce("logs", self.log_caps, stamp)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.written += len(batch)

    def _refresh_counts(self) -> None:
        for table in ("spans", "logs"):
            count, size = self._writer.execute(f"SELECT count(*), total(size) FROM {table}").fetchone()
            self._counts[table] = (int(count), int(size))

    def _enforce(self, table: str, caps: Caps, stamp: int) -> None:
        db = self._writer
        cutoff = stamp - caps.max_age_seconds * 1_000_000_000
        changed = db.execute(f"DELETE FROM {table} WHERE stored_ns < ?", (cutoff,)).rowcount > 0
        count, size = self._counts[table]
        if count > caps.max_count:
            db.execute(
                f"DELETE FROM {table} WHERE seq <= (SELECT seq FROM {table} ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (caps.max_count,),
            )
            changed = True
        if changed:
            self._refresh_counts()
            count, size = self._counts[table]
        if size > caps.max_bytes:
            excess, last_seq = size - caps.max_bytes, None
            for seq, row_size in db.execute(f"SELECT seq, size FROM {table} ORDER BY seq"):
                excess -= row_size
                last_seq = seq
                if excess <= 0:
                    break
            if last_seq is not None:
                db.execute(f"DELETE FROM {table} WHERE seq <= ?", (last_seq,))
                self._refresh_counts()

    # ------------------------------------------------------------------ reads (in a thread)

    def _select(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._read_lock:
            rows = self._reader.execute(sql, args).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    async def spans(self, trace_ids: set[str] | None = None, window: TimeRange | None = None) -> list[dict[str, Any]]:
        where, args = _window("start_ns", window)
        if trace_ids is not None:
            if not trace_ids:
                return []
            where.append(f"trace_id IN ({','.join('?' * len(trace_ids))})")
            args.extend(sorted(trace_ids))
        sql = "SELECT body FROM spans" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY start_ns"
        return await asyncio.to_thread(self._select, sql, tuple(args))

    async def logs(self, window: TimeRange | None = None, trace_id: str | None = None) -> list[dict[str, Any]]:
        where, args = _window("ts_ns", window)
        if trace_id is not None:
            where.append("trace_id = ?")
            args.append(trace_id)
        sql = "SELECT body FROM logs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
        return await asyncio.to_thread(self._select, sql, tuple(args))

    async def _clear(self, table: str) -> None:
        def run() -> None:
            with self._cond:  # forget what is still queued for this table, then empty it
                kept = deque(item for item in self._queue if (item[0] + "s") != table)
                self._settled += len(self._queue) - len(kept)
                self._queue = kept
            with self._read_lock:
                self._reader.execute(f"DELETE FROM {table}")
            self._counts[table] = (0, 0)

        await asyncio.to_thread(run)

    async def clear_spans(self) -> None:
        await self._clear("spans")

    async def clear_logs(self) -> None:
        await self._clear("logs")

    async def flush(self) -> None:
        """Wait until everything queued so far is on disk (tests, shutdown)."""
        with self._cond:
            target = self._queued_total
        while self._settled < target and self._thread.is_alive():
            with self._cond:
                self._cond.notify()
            await asyncio.sleep(min(self.flush_interval / 2, 0.01))

    def stats(self) -> dict[str, Any]:
        return {
            "store": "sqlite",
            "path": str(self.path),
            "spans": self._counts["spans"][0],
            "span_bytes": self._counts["spans"][1],
            "logs": self._counts["logs"][0],
            "log_bytes": self._counts["logs"][1],
            "queued": len(self._queue),
            "dropped": self.dropped,
        }

    async def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        await asyncio.to_thread(self._thread.join, 10)
        self._writer.close()
        self._reader.close()


def _window(column: str, window: TimeRange | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if window is not None and window.since_ns is not None:
        where.append(f"{column} >= ?")
        args.append(window.since_ns)
    if window is not None and window.until_ns is not None:
        where.append(f"{column} <= ?")
        args.append(window.until_ns)
    return where, args
