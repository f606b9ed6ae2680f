"""Batched text frames on real sockets: order, one write per turn, close after pending frames,
and a closed connection reported as ConnectionError (never a silent success)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedOK

from pyiii.core.access import Access
from pyiii.transport.ws_peer import WebSocketPeer
from pyiii.ws_write import can_write_now, write_text_frames
from tests.support.waiting import eventually, stays


@pytest.fixture
async def pair() -> AsyncIterator[tuple[ServerConnection, Any]]:
    """A real server connection and the client connected to it."""
    accepted: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def handler(conn: ServerConnection) -> None:
        accepted.set_result(conn)
        await release.wait()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=None) as client:
            yield await accepted, client
        release.set()


def make_peer(conn: ServerConnection) -> WebSocketPeer:
    return WebSocketPeer(conn, "w1", "t1", ip_address=None, listener="main", access=Access.permissive())


async def test_frames_arrive_in_order_as_separate_messages(pair: tuple[ServerConnection, Any]) -> None:
    server, client = pair
    writes: list[bytes] = []
    real_write = server.transport.write
    server.transport.write = lambda data: (writes.append(data), real_write(data))  # type: ignore[method-assign]
    frames = [f'{{"n":{i}}}'.encode() for i in range(50)] + ['{"s":"é"}'.encode()]
    assert can_write_now(server)
    write_text_frames(server, frames)
    got = [await asyncio.wait_for(client.recv(), 2) for _ in frames]
    assert got == [f.decode() for f in frames]
    assert len(writes) == 1  # one socket write for the whole batch


async def test_peer_batches_a_turn_and_keeps_order(pair: tuple[ServerConnection, Any]) -> None:
    server, client = pair
    peer = make_peer(server)
    writes: list[bytes] = []
    real_write = server.transport.write
    server.transport.write = lambda data: (writes.append(data), real_write(data))  # type: ignore[method-assign]
    await asyncio.gather(*(peer.send_frame(f'{{"i":{i}}}'.encode()) for i in range(20)))
    got = [await asyncio.wait_for(client.recv(), 2) for _ in range(20)]
    assert got == [f'{{"i":{i}}}' for i in range(20)]
    assert len(writes) == 1


async def test_close_sends_what_was_queued_first(pair: tuple[ServerConnection, Any]) -> None:
    server, client = pair
    peer = make_peer(server)
    await peer.send_frame(b'{"last":true}')
    await peer.close(1000, "bye")
    assert await asyncio.wait_for(client.recv(), 2) == '{"last":true}'
    with pytest.raises(ConnectionClosedOK):
        await asyncio.wait_for(client.recv(), 2)
    assert client.close_code == 1000


async def test_send_on_a_closed_connection_raises(pair: tuple[ServerConnection, Any]) -> None:
    server, client = pair
    peer = make_peer(server)
    await client.close()
    await asyncio.wait_for(server.wait_closed(), 2)
    assert not can_write_now(server)
    with pytest.raises(ConnectionError):
        await peer.send_frame(b"{}")


async def test_slow_reader_holds_back_senders(pair: tuple[ServerConnection, Any]) -> None:
    """Flow control: with the client not reading, the socket buffer fills and send_frame waits
    instead of the engine buffering without bound."""
    server, client = pair
    client.transport.pause_reading()
    peer = make_peer(server)
    big = b'"' + b"x" * 256 * 1024 + b'"'
    sent = 0

    async def sender() -> None:
        nonlocal sent
        while True:
            await peer.send_frame(big)
            sent += 1

    task = asyncio.ensure_future(sender())
    seen = [-1]

    def stalled() -> bool:  # two polls 0.1 s apart see the same count
        same = sent == seen[0]
        seen[0] = sent
        return same

    await eventually(stalled, 5, 0.1, what="the sender to block on the full buffer")
    assert not task.done()
    stalled_at = sent
    # Blocked on the buffer, not looping: an unbounded sender adds a frame per loop turn (a
    # 256 KiB copy, well under a millisecond), so 0.3 s without one is a wide margin.
    await stays(lambda: sent == stalled_at, 0.3, what="no frame sent while the reader is paused")
    assert sent < 400  # far less than it would send unbounded
    task.cancel()
    client.transport.resume_reading()
