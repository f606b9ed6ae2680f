"""Data channels: byte/text streams brokered by the engine on ``/ws/channels/<id>`` (§5).

Each endpoint is its own WebSocket, opened lazily on first use. Objects created by the
client remember its event loop, so their blocking helpers also work from sync handlers that
run on the thread pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypedDict, TypeGuard, TypeVar
from urllib.parse import quote

from .. import wsio
from .options import DEFAULT_MAX_MESSAGE_SIZE

log = logging.getLogger("pyiii.sdk.channels")

#: Writers split binary payloads into frames of at most this size.
MAX_FRAME_SIZE = 64 * 1024
#: Pause before closing a writer so buffered frames reach the engine before the close.
_CLOSE_FLUSH_DELAY_S = 0.01

T = TypeVar("T")

#: Close codes with which a channel ends normally (1005: a Close without a code).
_FINISHED_CODES = frozenset({1000, 1005})


class ChannelAborted(ConnectionError):
    """The stream broke off before its writer finished (the engine closed the reader with an
    error code): what was read so far is not the whole stream."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"channel stream aborted ({code}): {reason}" if reason else f"channel stream aborted ({code})")
        self.code = code
        self.reason = reason


class ChannelDirection(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass
class StreamChannelRef:
    """The JSON-serialisable half of a channel that travels inside payloads."""

    channel_id: str
    access_key: str
    direction: Literal["read", "write"]


class StreamChannelRefDict(TypedDict):
    channel_id: str
    access_key: str
    direction: Literal["read", "write"]


@dataclass
class ChannelItem:
    """One frame: exactly one of ``text``/``binary`` is set."""

    text: str | None = None
    binary: bytes | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.binary is None):
            raise ValueError("ChannelItem requires exactly one of `text` or `binary`")

    @classmethod
    def text_item(cls, value: str) -> ChannelItem:
        return cls(text=value)

    @classmethod
    def binary_item(cls, value: bytes) -> ChannelItem:
        return cls(binary=value)

    @property
    def is_text(self) -> bool:
        return self.text is not None

    @property
    def is_binary(self) -> bool:
        return self.binary is not None


def is_channel_ref(value: Any) -> TypeGuard[StreamChannelRefDict]:
    return (
        isinstance(value, dict)
        and isinstance(value.get("channel_id"), str)
        and isinstance(value.get("access_key"), str)
        and value.get("direction") in ("read", "write")
    )


def build_channel_url(engine_ws_base: str, channel_id: str, access_key: str, direction: str) -> str:
    # The worker address may carry a query string (auth tokens): channels live at the root.
    base = engine_ws_base.split("?", 1)[0].rstrip("/")
    return f"{base}/ws/channels/{channel_id}?key={quote(access_key, safe='')}&dir={direction}"


class _Endpoint:
    """Shared plumbing: lazy connect, and running coroutines from any thread."""

    _direction: str = ""

    def __init__(
        self,
        engine_ws_base: str,
        ref: StreamChannelRef,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.ref = ref
        # The URL is built on first connect: most endpoints an HTTP invocation receives are never used.
        self._base = engine_ws_base
        self._loop = loop
        self._ws: wsio.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._closed = False

    @property
    def url(self) -> str:
        ref = self.ref
        return build_channel_url(self._base, ref.channel_id, ref.access_key, self._direction)

    async def _connection(self) -> wsio.Connection:
        if self._ws is not None:
            return self._ws
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._ws is None:
                self._ws = await wsio.connect(
                    self.url, wsio.Options(max_message_bytes=DEFAULT_MAX_MESSAGE_SIZE)
                )
            return self._ws

    def _run(self, coro: Coroutine[Any, Any, T]) -> T | None:
        """Run to completion from sync code; fire-and-forget when already on a loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            task = running.create_task(coro)
            task.add_done_callback(_log_failure)
            return None
        if self._loop is not None and self._loop.is_running():
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        return asyncio.run(coro)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("channel operation failed: %s", task.exception())


class ChannelWriter(_Endpoint):
    """Write side: binary chunks and text control messages."""

    _direction = "write"

    def __init__(
        self,
        engine_ws_base: str,
        ref: StreamChannelRef,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(engine_ws_base, ref, loop=loop)
        self._stream: WritableStream | None = None

    @property
    def stream(self) -> WritableStream:
        """Node-style ``write``/``end``. Made on first use: the two refer to each other, a cycle
        only the garbage collector frees, and most writers an invocation receives are never used."""
        stream = self._stream
        if stream is None:
            stream = self._stream = WritableStream(self)
        return stream

    async def write(self, data: bytes) -> None:
        ws = await self._connection()
        view = memoryview(data)
        for offset in range(0, max(len(view), 1), MAX_FRAME_SIZE):
            await ws.send(bytes(view[offset : offset + MAX_FRAME_SIZE]))

    async def send_message_async(self, msg: str) -> None:
        await (await self._connection()).send(msg)

    def send_message(self, msg: str) -> None:
        self._run(self.send_message_async(msg))

    async def close_async(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ws is None:
            # Never written: still connect so the reader sees a clean end of stream.
            try:
                await self._connection()
            except Exception:  # best effort on close
                log.debug("could not open channel %s to close it", self.ref.channel_id)
                return
        await asyncio.sleep(_CLOSE_FLUSH_DELAY_S)
        assert self._ws is not None
        await self._ws.close()

    def close(self) -> None:
        self._run(self.close_async())


class ChannelReader(_Endpoint):
    """Read side: async iteration yields binary chunks; text frames go to callbacks."""

    _direction = "read"

    def __init__(
        self,
        engine_ws_base: str,
        ref: StreamChannelRef,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(engine_ws_base, ref, loop=loop)
        self._callbacks: list[Callable[[str], Any]] = []
        self._stream: ReadableStream | None = None

    @property
    def stream(self) -> ReadableStream:
        """Made on first use, as :attr:`ChannelWriter.stream`."""
        stream = self._stream
        if stream is None:
            stream = self._stream = ReadableStream(self)
        return stream

    def on_message(self, callback: Callable[[str], Any]) -> None:
        self._callbacks.append(callback)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The binary items until the writer finished; raises :class:`ChannelAborted` when the
        stream broke off instead (a truncated stream never ends like a whole one)."""
        ws = await self._connection()
        async for message in ws:
            if isinstance(message, bytes):
                yield message
                continue
            for callback in self._callbacks:
                try:
                    callback(message)
                except Exception:
                    log.exception("channel message callback failed")
        if not self._closed and ws.close_code not in _FINISHED_CODES:
            raise ChannelAborted(ws.close_code, ws.close_reason)

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self])

    def read_all_sync(self) -> bytes:
        """Blocking variant for sync handlers running on the thread pool."""
        result = self._run(self.read_all())
        return result if result is not None else b""

    async def close_async(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()


class WritableStream:
    """Node-style ``write``/``end`` on top of a :class:`ChannelWriter`."""

    def __init__(self, writer: ChannelWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        self._writer._run(self._writer.write(data))

    def end(self, data: bytes | None = None) -> None:
        async def finish() -> None:
            if data is not None:
                await self._writer.write(data)
            await self._writer.close_async()

        self._writer._run(finish())


class ReadableStream:
    def __init__(self, reader: ChannelReader) -> None:
        self._reader = reader

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._reader:
            yield chunk


@dataclass
class Channel:
    """Both ends of a channel plus the refs to hand to another worker."""

    writer: ChannelWriter
    reader: ChannelReader
    writer_ref: StreamChannelRef
    reader_ref: StreamChannelRef


def open_ref(
    ref: StreamChannelRefDict | StreamChannelRef,
    engine_ws_base: str,
    loop: asyncio.AbstractEventLoop | None = None,
) -> ChannelReader | ChannelWriter:
    if isinstance(ref, dict):
        ref = StreamChannelRef(ref["channel_id"], ref["access_key"], ref["direction"])
    if ref.direction == "read":
        return ChannelReader(engine_ws_base, ref, loop=loop)
    return ChannelWriter(engine_ws_base, ref, loop=loop)


def resolve_channel_refs(
    data: Any, engine_ws_base: str, loop: asyncio.AbstractEventLoop | None = None
) -> Any:
    """Replace every channel ref inside a payload by a live reader/writer. A payload without
    refs (nearly every one) is returned as it is, not copied; a container holding one is copied
    (keys and order kept), the others inside it are shared."""
    if isinstance(data, dict):
        if "channel_id" in data and is_channel_ref(data):
            return open_ref(data, engine_ws_base, loop)
        copy: dict[Any, Any] | None = None
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:  # an empty one holds no ref
                resolved = resolve_channel_refs(value, engine_ws_base, loop)
                if resolved is not value:
                    if copy is None:
                        copy = dict(data)
                    copy[key] = resolved
        return data if copy is None else copy
    if isinstance(data, list):
        items: list[Any] | None = None
        for index, value in enumerate(data):
            if isinstance(value, (dict, list)) and value:  # an empty one holds no ref
                resolved = resolve_channel_refs(value, engine_ws_base, loop)
                if resolved is not value:
                    if items is None:
                        items = list(data)
                    items[index] = resolved
        return data if items is None else items
    return data


def extract_channel_refs(data: Any) -> list[tuple[str, StreamChannelRef]]:
    """``(path, ref)`` for every ref in a payload; paths look like ``items[0].writer``."""
    found: list[tuple[str, StreamChannelRef]] = []

    def walk(value: Any, path: str) -> None:
        if is_channel_ref(value):
            found.append(
                (path, StreamChannelRef(value["channel_id"], value["access_key"], value["direction"]))
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(data, "")
    return found
