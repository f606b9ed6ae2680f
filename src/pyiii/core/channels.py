"""Data channels: a bounded FIFO between one writer and one reader (spec/protocol.md §5).

The transport attaches the two WebSocket endpoints; this module only holds the queue and the
capability (channel id + access key). Items written before the reader connects are buffered.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import os
import time
from dataclasses import dataclass, field
from typing import Final

from pyiii.ids import uuid4_text_of

DEFAULT_BUFFER: Final = 64
MAX_BUFFER: Final = 1024

#: Marks end of stream in the queue.
EOF: Final = object()
#: Marks a stream that broke off (its writer dropped, a request body failed): the reader must not
#: take what it received for the whole, so it gets an error where it would have got EOF.
ABORTED: Final = object()

Item = str | bytes


@dataclass(slots=True)
class Channel:
    id: str
    access_key: str
    queue: asyncio.Queue[object]
    created_at: float = field(default_factory=time.monotonic)
    writer_taken: bool = False
    reader_taken: bool = False
    writer_done: bool = False
    reader_done: bool = False

    def refs(self) -> dict[str, dict[str, str]]:
        base = {"channel_id": self.id, "access_key": self.access_key}
        return {"writer": {**base, "direction": "write"}, "reader": {**base, "direction": "read"}}


class ChannelRegistry:
    def __init__(self, ttl_seconds: float = 300.0) -> None:
        self._channels: dict[str, Channel] = {}
        self.ttl_seconds = ttl_seconds

    def __len__(self) -> int:
        return len(self._channels)

    def create(self, buffer_size: int | None = None) -> Channel:
        size = DEFAULT_BUFFER if buffer_size is None else max(1, min(int(buffer_size), MAX_BUFFER))
        # The id's 16 random bytes and a 192-bit key in one getrandom (an HTTP request makes two
        # channels); base64 of urandom is what secrets.token_urlsafe does, minus a call layer.
        raw = os.urandom(40)
        access_key = base64.urlsafe_b64encode(raw[16:]).decode()
        channel = Channel(id=uuid4_text_of(raw[:16]), access_key=access_key, queue=asyncio.Queue(size))
        self._channels[channel.id] = channel
        return channel

    def lookup(self, channel_id: str, access_key: str) -> Channel | None:
        channel = self._channels.get(channel_id)
        if channel is None or not hmac.compare_digest(channel.access_key, access_key):
            return None
        return channel

    def finish(self, channel: Channel, side: str) -> None:
        """Mark one side done; a channel whose both sides finished is forgotten."""
        if side == "write":
            channel.writer_done = True
        else:
            channel.reader_done = True
        if channel.writer_done and channel.reader_done:
            self._channels.pop(channel.id, None)

    def sweep(self) -> int:
        """Drop channels a side never connected to within the TTL. Returns how many."""
        now = time.monotonic()
        stale = [
            c.id
            for c in self._channels.values()
            if now - c.created_at > self.ttl_seconds and not (c.writer_taken and c.reader_taken)
        ]
        for cid in stale:
            self._channels.pop(cid, None)
        return len(stale)
