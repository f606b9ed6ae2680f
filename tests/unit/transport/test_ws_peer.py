"""The engine's side of a worker socket: frames in order, close after what was sent, and a gone
worker reported as ConnectionError (the core's signal), never a silent success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pyiii import wsio
from pyiii.core.access import Access
from pyiii.transport.ws_peer import WebSocketPeer
from tests.support.waiting import eventually


@pytest.fixture(params=["picows", "websockets"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[wsio.Connection, wsio.Connection]]:
    accepted: list[wsio.Connection] = []

    async def handler(connection: wsio.Connection) -> None:
        accepted.append(connection)
        await connection.wait_closed()

    async def upgrade(_request: wsio.Request) -> None:
        return None

    server = await wsio.serve(handler, "127.0.0.1", 0, upgrade=upgrade, backend=request.param)
    client = await wsio.connect(f"ws://127.0.0.1:{server.port}/", backend=request.param)
    await eventually(lambda: accepted, 5, what="the server to accept")
    yield accepted[0], client
    await server.close()


def make_peer(connection: wsio.Connection) -> WebSocketPeer:
    return WebSocketPeer(connection, "w1", "t1", ip_address=None, listener="main", access=Access.permissive())


async def test_frames_sent_together_arrive_in_order(pair: tuple[wsio.Connection, wsio.Connection]) -> None:
    server, client = pair
    peer = make_peer(server)
    await asyncio.gather(*(peer.send_frame(f'{{"i":{i}}}'.encode()) for i in range(20)))
    got = [await asyncio.wait_for(client.recv(), 2) for _ in range(20)]
    assert got == [f'{{"i":{i}}}' for i in range(20)]


async def test_close_sends_what_was_sent_first(pair: tuple[wsio.Connection, wsio.Connection]) -> None:
    server, client = pair
    peer = make_peer(server)
    await peer.send_frame(b'{"last":true}')
    await peer.close(1000, "bye")
    assert await asyncio.wait_for(client.recv(), 2) == '{"last":true}'
    with pytest.raises(wsio.ConnectionClosed):
        await asyncio.wait_for(client.recv(), 2)
    assert client.close_code == 1000


async def test_sending_to_a_gone_worker_raises_connection_error(
        pair: tuple[wsio.Connection, wsio.Connection]) -> None:
    server, client = pair
    peer = make_peer(server)
    await client.close()
    await asyncio.wait_for(server.wait_closed(), 2)
    with pytest.raises(ConnectionError, match="worker w1 disconnected"):
        await peer.send_frame(b"{}")
