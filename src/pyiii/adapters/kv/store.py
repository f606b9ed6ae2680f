"""The kv store contract every back-end implements.

A store holds *tables* (a state scope, a stream group) of *keys* to JSON values. Values cross
this interface as Python objects and are kept as JSON bytes, so a caller can never mutate what
is stored. An absent key is :data:`MISSING`, distinct from a stored ``null``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from pyiii.adapters.kv.bus import EventBus
from pyiii.adapters.kv.update_ops import MISSING

#: ``mutate(old) -> new`` for :meth:`KvStore.update`. It may run more than once (optimistic
#: back-ends retry), so it must be a pure function of ``old``.
Mutation = Callable[[Any], Any]
#: ``plan(current table names) -> {old name: new name}`` for :meth:`KvStore.migrate_tables`.
RenamePlan = Callable[[list[str]], Mapping[str, str]]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode(raw: bytes | str | None) -> Any:
    return MISSING if raw is None else _decoder.decode(raw)


class KvError(Exception):
    """The back-end failed (I/O, connection, contention); the operation did not happen."""


class KvStore(abc.ABC):
    #: Shown in logs and the start-up banner.
    description: str = ""
    #: Set by stores that depend on a server (``redis``): its check is listed in ``/readyz``.
    remote_kind: str | None = None

    async def open(self) -> None:
        """Connect / create files. Raises KvError when the back-end is unusable."""
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        """Raise when the back-end cannot serve now (``/readyz``). Local stores always can."""
        return None

    def change_bus(self, channel: str) -> EventBus:
        """Where stream change events travel for this store: in process unless the store is
        shared between engines (Redis overrides this)."""
        return EventBus()

    @abc.abstractmethod
    async def get(self, table: str, key: str) -> Any:
        """The value, or MISSING."""

    @abc.abstractmethod
    async def set(self, table: str, key: str, value: Any) -> Any:
        """Store ``value``; returns the previous value or MISSING (atomically)."""

    @abc.abstractmethod
    async def delete(self, table: str, key: str) -> Any:
        """Remove the key; returns the previous value or MISSING (atomically)."""

    @abc.abstractmethod
    async def update(self, table: str, key: str, mutate: Mutation) -> tuple[Any, Any]:
        """Atomic read-modify-write: ``(old, new)`` where ``new = mutate(old)`` was stored."""

    async def entries(self, table: str) -> list[tuple[str, Any]]:
        """Every ``(key, value)`` of a table, in the order of :meth:`values` (``state::list_entries``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot list keys")

    @abc.abstractmethod
    async def values(self, table: str) -> list[Any]:
        """Every value of a table, oldest key first (``[]`` for an unknown table)."""

    @abc.abstractmethod
    async def raw_items(self, table: str) -> list[tuple[str, bytes]]:
        """Every ``(key, JSON bytes)`` of a table, in the order of :meth:`values`: undecoded, for
        callers that only pass values on (a stream join's snapshot)."""

    @abc.abstractmethod
    async def tables(self) -> list[str]:
        """Names of the tables holding at least one key."""

    @abc.abstractmethod
    async def migrate_tables(self, marker: str, plan: RenamePlan) -> int:
        """Run a one-time renaming of tables, identified by ``marker``: unless ``marker`` is
        already recorded in the store, rename the tables ``plan(tables())`` names (a target that
        already exists keeps its keys; the source's other keys are merged into it), then record
        ``marker``. Exclusive against other engines sharing the store, idempotent; returns the
        number of tables renamed (0 when already done)."""
