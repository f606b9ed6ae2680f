"""``store_method: in_memory``: dicts in the engine process; lost when it stops."""

from __future__ import annotations

from typing import Any

from pyiii.adapters.kv.store import KvStore, Mutation, RenamePlan, decode, encode
from pyiii.adapters.kv.update_ops import MISSING


class MemoryStore(KvStore):
    description = "in memory"

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, bytes]] = {}
        self._markers: set[str] = set()

    # No await between read and write below: on one event loop each method is atomic.

    async def get(self, table: str, key: str) -> Any:
        return decode(self._tables.get(table, {}).get(key))

    async def entries(self, table: str) -> list[tuple[str, Any]]:
        return [(key, decode(raw)) for key, raw in self._tables.get(table, {}).items()]

    async def set(self, table: str, key: str, value: Any) -> Any:
        raw = encode(value)
        rows = self._tables.setdefault(table, {})
        old = rows.get(key)
        rows[key] = raw
        return decode(old)

    async def delete(self, table: str, key: str) -> Any:
        rows = self._tables.get(table)
        if rows is None or key not in rows:
            return MISSING
        old = rows.pop(key)
        if not rows:
            del self._tables[table]
        return decode(old)

    async def update(self, table: str, key: str, mutate: Mutation) -> tuple[Any, Any]:
        old = decode(self._tables.get(table, {}).get(key))
        new = mutate(old)  # may raise: no table is created for a write that did not happen
        self._tables.setdefault(table, {})[key] = encode(new)
        return old, new

    async def values(self, table: str) -> list[Any]:
        return [decode(raw) for raw in self._tables.get(table, {}).values()]

    async def raw_items(self, table: str) -> list[tuple[str, bytes]]:
        return list(self._tables.get(table, {}).items())

    async def tables(self) -> list[str]:
        return list(self._tables)

    async def migrate_tables(self, marker: str, plan: RenamePlan) -> int:
        if marker in self._markers:
            return 0
        renames = {old: new for old, new in plan(list(self._tables)).items() if old != new and old in self._tables}
        for old, new in renames.items():
            rows = self._tables.pop(old)
            target = self._tables.setdefault(new, {})
            for key, raw in rows.items():
                target.setdefault(key, raw)
        self._markers.add(marker)
        return len(renames)
