"""Moving bytes between an HTTP exchange and the data channels of its payload (spec §4.3/§4.4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import orjson

from pyiii.core import ABORTED, EOF, Channel
from pyiii.workers.http.body import BodyError, BodyStream
from pyiii.workers.http.response import clean_headers
from pyiii.workers.http.sink import Headers


def put_now(channel: Channel, data: bytes, chunk_size: int) -> int:
    """Queue as many pieces of ``data`` as fit without waiting; returns bytes queued."""
    queue = channel.queue
    offset = 0
    while offset < len(data) and not queue.full():
        queue.put_nowait(data[offset:offset + chunk_size])
        offset += chunk_size
    return min(offset, len(data))


async def fill_from_bytes(channel: Channel, data: bytes, offset: int, chunk_size: int) -> None:
    for start in range(offset, len(data), chunk_size):
        await channel.queue.put(data[start:start + chunk_size])
    await channel.queue.put(EOF)


async def fill_from_body(channel: Channel, body: BodyStream, chunk_size: int) -> None:
    """Stream a request body into the channel; the queue's capacity is the backpressure.

    A body that fails (broken framing, too large, too slow, the client left) ends with ABORTED,
    not EOF: the reader gets an error instead of taking the part it received for the whole body.
    The server answers the client itself."""
    try:
        while (chunk := await body.read()) is not None:
            for start in range(0, len(chunk), chunk_size):
                await channel.queue.put(chunk[start:start + chunk_size])
    except BodyError:
        channel.aborted = True
        await channel.queue.put(ABORTED)
        return
    await channel.queue.put(EOF)


def start_filling(channel: Channel, body: BodyStream, raw: bytes | None, chunk_size: int) -> asyncio.Task[None] | None:
    """Write the request body into ``channel``; a task only when it cannot be done right now."""
    if raw is None and body.complete and body.failure is None:
        raw = body.take_all()
    if raw is not None:
        queue = channel.queue
        if len(raw) <= chunk_size and queue.maxsize - queue.qsize() >= 2:
            # The common case: one piece and the end, and room for both (the queue is bounded).
            if raw:
                queue.put_nowait(raw)
            queue.put_nowait(EOF)
            return None
        queued = put_now(channel, raw, chunk_size)
        if queued == len(raw) and not channel.queue.full():
            channel.queue.put_nowait(EOF)
            return None
        return asyncio.ensure_future(fill_from_bytes(channel, raw, queued, chunk_size))
    return asyncio.ensure_future(fill_from_body(channel, body, chunk_size))


class WatchedQueue(asyncio.Queue[object]):
    """A channel queue that calls ``on_put`` (once, then forgets it) when an item arrives.

    The response channel gets one of these so that the pipeline can wait for "handler answered
    or first response item" on a single future, without a ``queue.get()`` task per request.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.on_put: Callable[[], None] | None = None

    def put_nowait(self, item: object) -> None:
        super().put_nowait(item)  # ``put`` ends in ``put_nowait`` too
        callback = self.on_put
        if callback is not None:
            self.on_put = None
            callback()


def watch(channel: Channel) -> WatchedQueue:
    """Make the (still unpublished, empty) channel's queue a WatchedQueue."""
    queue = channel.queue
    if type(queue) is asyncio.Queue:
        # Same layout, one attribute more: re-class the registry's queue rather than allocate a
        # second one (a Queue costs as much as the rest of the channel).
        queue.__class__ = WatchedQueue
        assert isinstance(queue, WatchedQueue)
        queue.on_put = None
        return queue
    watched = WatchedQueue(queue.maxsize)
    channel.queue = watched
    return watched


def ref(channel: Channel, direction: str) -> dict[str, str]:
    """One side's reference (what ``Channel.refs()`` builds, without the unused side)."""
    return {"channel_id": channel.id, "access_key": channel.access_key, "direction": direction}


class ResponseControl:
    """What the handler said on the response channel before its first body chunk."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 200
        self.headers: Headers = []

    def apply(self, text: str) -> None:
        with contextlib.suppress(orjson.JSONDecodeError):
            message = orjson.loads(text)
            if not isinstance(message, dict):
                return
            kind = message.get("type")
            if kind == "set_status":
                code = message.get("status_code")
                if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
                    self.status = code
            elif kind == "set_headers":
                self.headers.extend(clean_headers(message.get("headers")))
