"""The wsio interface, server and client, on both backends and across them.

``pair`` is (server backend, client backend): each backend with itself, and each with the other
(a picows client must work against a websockets server and vice versa)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from pyiii import wsio

PAIRS = [("picows", "picows"), ("websockets", "websockets"), ("picows", "websockets"), ("websockets", "picows")]


@pytest.fixture(params=PAIRS, ids=[f"{s}-server-{c}-client" for s, c in PAIRS])
def pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    return tuple(request.param)  # type: ignore[return-value]


@dataclass
class Harness:
    """A server whose connections a test drives from outside (the handler parks them)."""

    server_backend: str
    client_backend: str
    accepted: list[wsio.Connection] = field(default_factory=list)
    requests: list[wsio.Request] = field(default_factory=list)
    upgrade: Callable[[wsio.Request], Awaitable[wsio.HttpReply | wsio.Accept | None]] | None = None
    server: wsio.Server | None = None

    async def start(self, options: wsio.Options = wsio.Options()) -> int:
        async def upgrade(request: wsio.Request) -> wsio.HttpReply | wsio.Accept | None:
            self.requests.append(request)
            return await self.upgrade(request) if self.upgrade is not None else None

        async def handler(connection: wsio.Connection) -> None:
            self.accepted.append(connection)
            await connection.wait_closed()

        self.server = await wsio.serve(handler, "127.0.0.1", 0, upgrade=upgrade, options=options,
                                       backend=self.server_backend)
        return self.server.port

    async def connect(self, path: str = "/", options: wsio.Options = wsio.Options()) -> wsio.Connection:
        assert self.server is not None
        return await wsio.connect(f"ws://127.0.0.1:{self.server.port}{path}", options, backend=self.client_backend)


@pytest.fixture
async def harness(pair: tuple[str, str]) -> AsyncIterator[Harness]:
    h = Harness(*pair)
    yield h
    if h.server is not None:
        await h.server.close()


@pytest.fixture(params=wsio.backend.BACKENDS)
async def server_only(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """For tests that talk to the server with the raw client: one run per server backend."""
    h = Harness(request.param, request.param)
    yield h
    if h.server is not None:
        await h.server.close()



def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test on both loops: the engine runs on uvloop, whose transports differ from
    asyncio's (a picows hand-over that works on one may fail on the other)."""
    import uvloop

    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
