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
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

from pyiii.ids import uuid4_text_of

DEFAULT_BUFFER: Final = 64
MAX_BUFFER: Final = 1024
#: How long a reader that comes late to a stream that broke off is still told so (1011), not 404.
ABORTED_GRACE_SECONDS: Final = 30.0
#: At most this many such markers are kept (oldest forgotten first): aborted requests are cheap to
#: make, so what they leave behind is bounded — an id, a key and a deadline each.
MAX_ABORTED_MARKERS: Final = 10_000

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
    #: The stream broke off (ABORTED is or was in the queue): its reader must be told, even late.
    aborted: bool = False

    def refs(self) -> dict[str, dict[str, str]]:
        base = {"channel_id": self.id, "access_key": self.access_key}
        return {"writer": {**base, "direction": "write"}, "reader": {**base, "direction": "read"}}


class ChannelRegistry:
    def __init__(
        self,
        ttl_seconds: float = 300.0,
        aborted_grace_seconds: float = ABORTED_GRACE_SECONDS,
        max_aborted_markers: int = MAX_ABORTED_MARKERS,
    ) -> None:
        self._channels: dict[str, Channel] = {}
        self.ttl_seconds = ttl_seconds
        self.aborted_grace_seconds = aborted_grace_seconds
        self.max_aborted_markers = max_aborted_markers
        #: Forgotten channels whose stream broke off before their reader came: id -> (key, until).
        self._aborted: OrderedDict[str, tuple[str, float]] = OrderedDict()

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

    def was_aborted(self, channel_id: str, access_key: str) -> bool:
        """Whether ``channel_id`` was forgotten after its stream broke off, before its reader came
        (within the grace): that reader is told so (1011) instead of \"not found\"."""
        marker = self._aborted.get(channel_id)
        if marker is None or marker[1] < time.monotonic():
            return False
        return hmac.compare_digest(marker[0], access_key)

    def abort(self, channel: Channel) -> None:
        """The engine's side of ``channel`` broke off: whatever is buffered is dropped and the
        reader gets ABORTED next (never blocks: a full queue cannot hold the marker back)."""
        channel.aborted = True
        queue = channel.queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(ABORTED)

    def finish(self, channel: Channel, side: str) -> None:
        """Mark one side done; a channel whose both sides finished is forgotten."""
        if side == "write":
            channel.writer_done = True
        else:
            channel.reader_done = True
        if channel.writer_done and channel.reader_done:
            if self._channels.pop(channel.id, None) is not None and channel.aborted and not channel.reader_taken:
                self._remember_aborted(channel)

    def _remember_aborted(self, channel: Channel) -> None:
        markers = self._aborted
        markers[channel.id] = (channel.access_key, time.monotonic() + self.aborted_grace_seconds)
        while len(markers) > self.max_aborted_markers:
            markers.popitem(last=False)

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
        markers = self._aborted
        while markers and next(iter(markers.values()))[1] < now:  # oldest first: same grace for all
            markers.popitem(last=False)
        return len(stale)
