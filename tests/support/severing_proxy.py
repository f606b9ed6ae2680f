"""A TCP forwarder that can drop its clients while keeping their engine side open.

What a worker sees when its network drops but the engine has not noticed yet: the worker's socket
is gone, the engine still holds a live connection for it (no FIN, no RST reaches the engine).
That is the case ``reattach`` exists for (spec iii-0.23-0.25 §1.2, §4.2: a reconnecting worker
retires its previous connection before it claims its name again). It also counts the connections
it accepted, which shows whether a client tried to reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    severed: bool = False
    #: Set when the engine side of this link is closed: by the engine, or by the proxy after an
    #: unsevered client left. Once severed, only the engine can close it.
    upstream_closed: asyncio.Event = field(default_factory=asyncio.Event)


class SeveringProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.accepted = 0
        self.links: list[_Link] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> SeveringProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def sever_clients(self) -> list[_Link]:
        """Abort every client socket; their engine sides stay open and silent."""
        severed = [link for link in self.links if not link.severed]
        for link in severed:
            link.severed = True
            link.client.transport.abort()
        return severed

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in self.links:
            link.client.transport.abort()
            link.upstream.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        link = _Link(writer, up_writer)
        self.links.append(link)
        await asyncio.gather(self._to_engine(reader, link), self._to_client(up_reader, link))

    async def _to_engine(self, reader: asyncio.StreamReader, link: _Link) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                link.upstream.write(data)
                await link.upstream.drain()
        if not link.severed:  # a client that left on its own: tell the engine
            link.upstream.transport.abort()

    async def _to_client(self, reader: asyncio.StreamReader, link: _Link) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if not link.severed:
                    link.client.write(data)
                    with contextlib.suppress(ConnectionError, OSError):
                        await link.client.drain()
        link.upstream_closed.set()
        link.client.transport.abort()
