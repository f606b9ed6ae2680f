"""A join's snapshot, cut into messages a subscriber can take.

A group snapshot used to be one ``sync`` message with the whole group: one large group (or one
large item) made it bigger than the subscriber's buffer, and every join was closed with 1013.
Now the ``sync`` carries the first items up to ``page_bytes``; every further item follows as a
``create`` envelope of its own (what the shipped clients apply as "add this item"), sent with
flow control (see ``Hub.deliver_sync``). A client thus ends with the whole group, whatever its
size; no message is larger than ``page_bytes`` or one item (itself bounded by
``max_item_bytes``).

Items whose id is unknown (a custom ``stream::list(<name>)`` returning values without an ``id``)
cannot be addressed by a ``create``, so they always travel in the ``sync``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from pyiii.adapters.kv import encode
from pyiii.workers.stream import envelope as env


def item_pages(stream_name: str, group_id: str, item_id: str, value: Any) -> Iterable[bytes]:
    """An item subscription's snapshot: one ``sync`` with the item (or ``null``)."""
    return [encode(env.envelope(stream_name, group_id, item_id, env.change("sync", value)))]


def group_pages(stream_name: str, group_id: str, items: list[tuple[str | None, msgspec.Raw]],
                page_bytes: int) -> Iterator[bytes]:
    """A group subscription's snapshot: a ``sync``, then one ``create`` per item that did not fit.
    Values are the stored JSON bytes, embedded as they are (never decoded and re-encoded), and
    messages are built one at a time as they are sent."""
    in_sync: list[msgspec.Raw] = []
    size, spill = 0, len(items)
    for index, (item_id, raw) in enumerate(items):
        if item_id is None:
            continue  # below
        if size + len(raw) > page_bytes:
            spill = index
            break
        in_sync.append(raw)
        size += len(raw)
    in_sync += [raw for item_id, raw in items if item_id is None]
    yield encode(env.envelope(stream_name, group_id, None, env.change("sync", in_sync)))
    for item_id, raw in items[spill:]:
        if item_id is not None:
            yield encode(env.envelope(stream_name, group_id, item_id, env.change("create", raw)))
