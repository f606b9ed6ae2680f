"""Payloads of the ``state::*`` functions (unknown fields are ignored, as in the reference)."""

from __future__ import annotations

from typing import Any

import msgspec


class ScopeKey(msgspec.Struct):
    scope: str
    key: str


class SetArgs(msgspec.Struct):
    scope: str
    key: str
    value: Any = msgspec.UNSET
    #: Accepted alias of ``value``.
    data: Any = msgspec.UNSET


class UpdateArgs(msgspec.Struct):
    scope: str
    key: str
    ops: Any


class ScopeArgs(msgspec.Struct):
    scope: str


class ListEntriesArgs(msgspec.Struct):
    """``state::list_entries`` (pyiii): one page of a scope's keys with their values."""

    scope: str
    limit: int = 100
    #: ``next_cursor`` of the previous page; omitted or null for the first page.
    cursor: str | None = None
    #: pyiii: case-insensitive text a key or its JSON value must contain.
    search: str | None = None


class TriggerConfig(msgspec.Struct):
    """``state`` trigger config: exact-match filters, omitted = any."""

    scope: str | None = None
    key: str | None = None
    condition_function_id: str | None = None
