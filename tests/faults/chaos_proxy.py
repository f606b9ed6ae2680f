"""An asyncio TCP chaos proxy (spec §4: "half-open, RST, slow-drip, truncation" where netem is
unavailable). Listens on 127.0.0.1 and forwards to one upstream, with a switchable mode:

* ``pass``      forward everything;
* ``blackhole`` keep every socket open but forward nothing in either direction (a half-open
  peer: no FIN, no RST — only a heartbeat can notice);
* ``slow``      forward in small chunks with a delay per chunk (a slow link);
* ``refuse``    close new connections at once.

:meth:`reset_all` aborts every current connection with an RST (a dropped link).
Runs on its own thread (:class:`ThreadedChaosProxy`) so sync SDK tests can drive it too.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from concurrent.futures import Future
from typing import Literal

Mode = Literal["pass", "blackhole", "slow", "refuse"]


class ChaosProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.mode: Mode = "pass"
        self.slow_chunk = 64
        self.slow_delay = 0.05
        self.connections: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._unblock = asyncio.Event()
        self._unblock.set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.reset_all()
        if self._server is not None:
            await self._server.wait_closed()

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "blackhole":
            self._unblock.clear()
        else:
            self._unblock.set()

    def reset_all(self) -> None:
        """Abort every proxied connection with RST (SO_LINGER 0)."""
        for client, upstream in list(self.connections):
            for w in (client, upstream):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                w.transport.abort()
        self.connections.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "refuse":
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.connections.add(pair)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self.connections.discard(pair)
            for w in pair:
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    # Propagate a clean FIN, unless the link is "cut" (then nothing travels).
                    await self._unblock.wait()
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                await self._unblock.wait()
                if self.mode == "slow":
                    for i in range(0, len(data), self.slow_chunk):
                        writer.write(data[i : i + self.slow_chunk])
                        await writer.drain()
                        await asyncio.sleep(self.slow_delay)
                else:
                    writer.write(data)
                    await writer.drain()
        except (ConnectionError, OSError):
            return


class ThreadedChaosProxy:
    """The proxy on a private event loop thread, with a thread-safe control surface."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.proxy = ChaosProxy(upstream_port, port=port)

    def _run(self, coro: object) -> object:
        fut: Future[object] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return fut.result(10)

    def start(self) -> ThreadedChaosProxy:
        self._thread.start()
        self._run(self.proxy.start())
        return self

    @property
    def port(self) -> int:
        return self.proxy.port

    def set_mode(self, mode: Mode) -> None:
        self._loop.call_soon_threadsafe(self.proxy.set_mode, mode)

    def reset_all(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.reset_all)

    def open_connections(self) -> int:
        return len(self.proxy.connections)

    def stop(self) -> None:
        self._run(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
