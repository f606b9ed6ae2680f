"""``store_method: file_based``: SQLite in WAL mode, one dedicated thread per database.

Every write is committed before its coroutine returns, so an acknowledged write survives a
kill -9 of the engine (``synchronous: full`` also survives a power loss). Read-modify-write
runs inside ``BEGIN IMMEDIATE`` in the store's thread: atomic against this process (one
thread) and against other processes sharing the file (SQLite's write lock).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pyiii.adapters.kv.store import KvError, KvStore, Mutation, RenamePlan, decode, encode
from pyiii.adapters.kv.update_ops import MISSING

T = TypeVar("T")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def resolve_db_path(file_path: str | Path, namespace: str, base: Path) -> Path:
    """A path with a suffix is the database file; without one it is a directory that gets
    ``<namespace>.db`` inside. Relative paths are relative to ``base`` (the project)."""
    path = Path(file_path).expanduser()
    if not path.is_absolute():
        path = base / path
    if path.suffix == "" or path.is_dir():
        path = path / f"{namespace}.db"
    return path


class SqliteStore(KvStore):
    def __init__(self, path: Path, namespace: str, *, synchronous: str = "normal", busy_timeout_ms: int = 5000) -> None:
        if not _IDENT.match(namespace):
            raise ValueError(f"namespace {namespace!r} is not a valid table name")
        self.path = path
        self.table = f"kv_{namespace}"
        self.migrations = f"kv_{namespace}_migrations"
        self.synchronous = synchronous.upper()
        self.busy_timeout_ms = busy_timeout_ms
        self.description = f"SQLite {path}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{namespace}")
        self._db: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            assert self._db is not None, "store is not open"
            try:
                return fn(self._db)
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.rollback()
                raise KvError(f"SQLite {self.path}: {exc}") from exc

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        def connect() -> None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={self.synchronous}")
                db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
                # rowid order = insertion order of a key; an upsert keeps the row's rowid.
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    " tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, UNIQUE (tbl, key))"
                )
                db.execute(f"CREATE TABLE IF NOT EXISTS {self.migrations} (name TEXT PRIMARY KEY)")
            except (OSError, sqlite3.Error) as exc:
                raise KvError(f"cannot open SQLite database {self.path}: {exc}") from exc
            self._db = db

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        def disconnect() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------------ operations

    async def get(self, table: str, key: str) -> Any:
        sql = f"SELECT value FROM {self.table} WHERE tbl=? AND key=?"
        row = await self._run(lambda db: db.execute(sql, (table, key)).fetchone())
        return decode(row[0] if row else None)

    async def entries(self, table: str) -> list[tuple[str, Any]]:
        sql = f"SELECT key, value FROM {self.table} WHERE tbl=? ORDER BY rowid"
        rows = await self._run(lambda db: db.execute(sql, (table,)).fetchall())
        return [(r[0], decode(r[1])) for r in rows]

    def _read(self, db: sqlite3.Connection, table: str, key: str) -> bytes | None:
        row = db.execute(f"SELECT value FROM {self.table} WHERE tbl=? AND key=?", (table, key)).fetchone()
        return row[0] if row else None

    def _write(self, db: sqlite3.Connection, table: str, key: str, raw: bytes) -> None:
        db.execute(
            f"INSERT INTO {self.table} (tbl, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
            (table, key, raw),
        )

    async def set(self, table: str, key: str, value: Any) -> Any:
        raw = encode(value)

        def run(db: sqlite3.Connection) -> bytes | None:
            db.execute("BEGIN IMMEDIATE")
            old = self._read(db, table, key)
            self._write(db, table, key, raw)
            db.execute("COMMIT")
            return old

        return decode(await self._run(run))

    async def delete(self, table: str, key: str) -> Any:
        def run(db: sqlite3.Connection) -> bytes | None:
            db.execute("BEGIN IMMEDIATE")
            old = self._read(db, table, key)
            if old is not None:
                db.execute(f"DELETE FROM {self.table} WHERE tbl=? AND key=?", (table, key))
            db.execute("COMMIT")
            return old

        return decode(await self._run(run))

    async def update(self, table: str, key: str, mutate: Mutation) -> tuple[Any, Any]:
        def run(db: sqlite3.Connection) -> tuple[Any, Any]:
            db.execute("BEGIN IMMEDIATE")
            try:
                old = decode(self._read(db, table, key))
                new = mutate(old)
                self._write(db, table, key, encode(new))
            except BaseException:
                db.rollback()
                raise
            db.execute("COMMIT")
            return old, new

        return await self._run(run)

    async def values(self, table: str) -> list[Any]:
        sql = f"SELECT value FROM {self.table} WHERE tbl=? ORDER BY rowid"
        rows = await self._run(lambda db: db.execute(sql, (table,)).fetchall())
        return [decode(r[0]) for r in rows]

    async def raw_items(self, table: str) -> list[tuple[str, bytes]]:
        sql = f"SELECT key, value FROM {self.table} WHERE tbl=? ORDER BY rowid"
        rows = await self._run(lambda db: db.execute(sql, (table,)).fetchall())
        return [(r[0], r[1] if isinstance(r[1], bytes) else str(r[1]).encode()) for r in rows]

    async def tables(self) -> list[str]:
        sql = f"SELECT DISTINCT tbl FROM {self.table}"
        rows = await self._run(lambda db: db.execute(sql).fetchall())
        return [r[0] for r in rows]

    async def migrate_tables(self, marker: str, plan: RenamePlan) -> int:
        # One IMMEDIATE transaction: another process sharing the file waits, then sees the marker.
        def run(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute(f"SELECT 1 FROM {self.migrations} WHERE name=?", (marker,)).fetchone():
                    db.execute("COMMIT")
                    return 0
                names = [r[0] for r in db.execute(f"SELECT DISTINCT tbl FROM {self.table}").fetchall()]
                renames = {old: new for old, new in plan(names).items() if old != new and old in names}
                for old, new in renames.items():
                    # UPDATE keeps each row's rowid (the insertion order); keys the target already has win.
                    db.execute(f"UPDATE OR IGNORE {self.table} SET tbl=? WHERE tbl=?", (new, old))
                    db.execute(f"DELETE FROM {self.table} WHERE tbl=?", (old,))
                db.execute(f"INSERT INTO {self.migrations} (name) VALUES (?)", (marker,))
            except BaseException:
                db.rollback()
                raise
            db.execute("COMMIT")
            return len(renames)

        return await self._run(run)


__all__ = ["MISSING", "SqliteStore", "resolve_db_path"]
