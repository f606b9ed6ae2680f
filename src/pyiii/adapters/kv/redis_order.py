"""Listing a Redis table oldest key first: its hash's fields put in the order of its order index
(see :mod:`.redis_scripts`). Pure: the caller reads both in one ``MULTI`` (one snapshot).

The hash decides *what* is listed, the index only *where*: a key the index lacks (written by an
engine without it, or before it existed) is still listed, after the indexed ones, in the hash's
own order; an index entry whose key is gone is skipped. Either one means the index needs a
repair, which the caller runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrderedRows:
    #: ``(field, raw value)`` oldest first.
    rows: list[tuple[bytes, bytes]]
    #: Index entries without a field in the hash.
    stale: list[bytes]
    #: How many fields of ``rows`` (at its end) the index did not hold.
    unindexed: int

    @property
    def index_needs_repair(self) -> bool:
        return bool(self.stale) or self.unindexed > 0


def in_index_order(index: list[bytes], fields: dict[bytes, bytes]) -> OrderedRows:
    """``index``: the index's members by score; ``fields``: the hash as ``HGETALL`` gave it."""
    rows: list[tuple[bytes, bytes]] = []
    stale: list[bytes] = []
    for key in index:
        raw = fields.get(key)
        if raw is None:
            stale.append(key)
        else:
            rows.append((key, raw))
    unindexed = len(fields) - len(rows)
    if unindexed:
        listed = set(index)
        rows.extend((key, raw) for key, raw in fields.items() if key not in listed)
    return OrderedRows(rows, stale, unindexed)
