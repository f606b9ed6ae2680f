"""Messages both ways, fragments, size limits, batching and flow control."""

from __future__ import annotations

import asyncio

import pytest

from pyiii import wsio
from tests.contracts.wsio.conftest import Harness
from tests.contracts.wsio.raw import BINARY, CLOSE, CONTINUATION, TEXT, RawClient
from tests.support.waiting import eventually, stays

LIMIT = 256 * 1024


async def _connected(h: Harness, options: wsio.Options = wsio.Options()) -> tuple[wsio.Connection, wsio.Connection]:
    await h.start(options)
    client = await h.connect()
    await eventually(lambda: h.accepted, 5, what="the server to accept")
    return h.accepted[0], client


async def test_text_and_binary_echo_both_ways(harness: Harness) -> None:
    server, client = await _connected(harness)
    await client.send("héllo")
    await client.send(b"\x00\x01")
    await client.send_text(b'{"a":1}')
    assert await server.recv() == "héllo"
    assert await server.recv() == b"\x00\x01"
    assert await server.recv(decode=False) == b'{"a":1}'  # text, undecoded
    await server.send("back")
    await server.send(b"\xff")
    assert await client.recv() == "back"
    assert await client.recv() == b"\xff"


async def test_a_message_at_the_limit_passes_and_one_over_closes_1009(harness: Harness) -> None:
    server, client = await _connected(harness, wsio.Options(max_message_bytes=LIMIT))
    await client.send(b"x" * LIMIT)
    assert len(await server.recv()) == LIMIT
    await client.send(b"x" * (LIMIT + 1))
    with pytest.raises(wsio.ConnectionClosed) as closed:
        await asyncio.wait_for(server.recv(), 5)
    assert closed.value.code == wsio.MESSAGE_TOO_BIG
    assert server.close_code == wsio.MESSAGE_TOO_BIG


async def test_fragments_are_reassembled_up_to_the_limit(server_only: Harness) -> None:
    port = await server_only.start(wsio.Options(max_message_bytes=LIMIT))
    raw = await RawClient.open(port)
    assert raw.status == 101
    third = LIMIT // 4
    raw.send(TEXT, b"a" * third, fin=False)
    raw.send(CONTINUATION, b"b" * third, fin=False)
    raw.send(CONTINUATION, b"c" * (LIMIT - 2 * third))
    raw.send(BINARY, b"after")
    await eventually(lambda: server_only.accepted, 5, what="the server to accept")
    server = server_only.accepted[0]
    message = await asyncio.wait_for(server.recv(), 5)
    assert message == "a" * third + "b" * third + "c" * (LIMIT - 2 * third)
    assert await asyncio.wait_for(server.recv(), 5) == b"after"
    raw.close()


async def test_fragments_over_the_limit_close_1009(server_only: Harness) -> None:
    port = await server_only.start(wsio.Options(max_message_bytes=LIMIT))
    raw = await RawClient.open(port)
    half = LIMIT // 2
    raw.send(BINARY, b"a" * half, fin=False)
    raw.send(CONTINUATION, b"b" * half, fin=False)
    raw.send(CONTINUATION, b"c")
    payload = await asyncio.wait_for(raw.read_until(CLOSE), 5)
    assert int.from_bytes(payload[:2], "big") == wsio.MESSAGE_TOO_BIG
    raw.close()


# uvloop's transport cannot be wrapped to count its writes, so this one runs on asyncio only.
@pytest.mark.asyncio(loop_factories=["asyncio"])
async def test_frames_posted_in_one_turn_leave_in_one_write_in_order(harness: Harness) -> None:
    server, client = await _connected(harness)
    writes: list[bytes] = []
    transport = server.raw_transport
    real_write = transport.write
    transport.write = lambda data: (writes.append(bytes(data)), real_write(data))[1]  # type: ignore[method-assign]
    frames = [f'{{"n":{i}}}'.encode() for i in range(50)] + ['{"s":"é"}'.encode()]
    for payload in frames:
        server.post_text(payload)
    await asyncio.sleep(0)  # the end of this loop turn (what is tested, not a wait for time)
    got = [await asyncio.wait_for(client.recv(), 2) for _ in frames]
    assert got == [f.decode() for f in frames]
    assert len(writes) == 1, f"{len(writes)} writes for one turn's frames"


async def test_frames_written_at_once_to_a_lagging_reader_arrive_intact_and_in_order(harness: Harness) -> None:
    """``write_text`` while the socket buffer is full, mixed with ``post_text``: large frames
    (picows hands the transport a view of the header buffer it reuses) queue up intact."""
    server, client = await _connected(harness)
    client.raw_transport.pause_reading()
    # 12 MB: more than the socket buffers take, so most frames wait in the transport
    frames = [b'"' + bytes([97 + i % 26]) * (20_000 + i) + b'"' for i in range(600)]
    for i, payload in enumerate(frames):
        if i % 3 == 2:
            server.post_text(payload)
        else:
            server.write_text(payload)
    assert server.buffered_bytes > 0
    client.raw_transport.resume_reading()
    got = [await asyncio.wait_for(client.recv(), 5) for _ in frames]
    assert got == [f.decode() for f in frames]


async def test_large_frames_sent_to_a_lagging_reader_arrive_intact(harness: Harness) -> None:
    """``send_text`` with flow control, the reader paused until the writer blocks: the frames
    that waited in the transport meanwhile are intact (picows + uvloop got this wrong before)."""
    server, client = await _connected(harness)
    client.raw_transport.pause_reading()
    frames = [b'"' + bytes([97 + i % 26]) * (20_000 + i) + b'"' for i in range(600)]

    async def sender() -> None:
        for payload in frames:
            await server.send_text(payload)

    task = asyncio.ensure_future(sender())
    await eventually(lambda: server.buffered_bytes > 0, 5, what="frames waiting in the transport")
    client.raw_transport.resume_reading()
    got = [await asyncio.wait_for(client.recv(), 5) for _ in frames]
    assert got == [f.decode() for f in frames]
    await asyncio.wait_for(task, 5)


async def test_close_sends_what_was_posted_first(harness: Harness) -> None:
    server, client = await _connected(harness)
    server.post_text(b'{"last":true}')
    await server.close(4001, "bye")
    assert await asyncio.wait_for(client.recv(), 2) == '{"last":true}'
    with pytest.raises(wsio.ConnectionClosed) as closed:
        await asyncio.wait_for(client.recv(), 2)
    assert (closed.value.code, closed.value.reason) == (4001, "bye")
    assert (client.close_code, client.close_reason) == (4001, "bye")
    assert server.close_code == 4001


async def test_client_close_code_is_seen_by_the_server(harness: Harness) -> None:
    server, client = await _connected(harness)
    await client.close(1001, "going")
    with pytest.raises(wsio.ConnectionClosed):
        await asyncio.wait_for(server.recv(), 2)
    assert (server.close_code, server.close_reason) == (1001, "going")
    await asyncio.wait_for(server.wait_closed(), 2)


async def test_posting_on_a_closed_connection_raises(harness: Harness) -> None:
    server, client = await _connected(harness)
    await client.close()
    await asyncio.wait_for(server.wait_closed(), 2)
    assert not server.open
    with pytest.raises(wsio.ConnectionClosed):
        server.post_text(b"{}")
    with pytest.raises(wsio.ConnectionClosed):
        await server.send("x")


async def test_a_slow_reader_holds_back_the_sender(harness: Harness) -> None:
    """Flow control: with the client not reading, the socket buffer fills and the sender waits
    in ``wait_writable`` instead of buffering without bound."""
    server, client = await _connected(harness)
    client.raw_transport.pause_reading()
    big = b'"' + b"x" * 256 * 1024 + b'"'
    sent = 0

    async def sender() -> None:
        nonlocal sent
        while True:
            server.post_text(big)
            await server.wait_writable()
            sent += 1

    task = asyncio.ensure_future(sender())
    seen = [-1]

    def stalled() -> bool:  # two polls 0.1 s apart see the same count
        same = sent == seen[0]
        seen[0] = sent
        return same

    await eventually(stalled, 5, 0.1, what="the sender to block on the full buffer")
    stalled_at = sent
    await stays(lambda: sent == stalled_at, 0.3, what="no frame sent while the reader is paused")
    assert sent < 400
    assert server.buffered_bytes > 0
    task.cancel()
    client.raw_transport.resume_reading()


async def test_a_long_close_reason_is_cut_to_fit_on_a_character_boundary(harness: Harness) -> None:
    server, client = await _connected(harness)
    await server.close(4002, "é" * 100)  # 200 bytes of UTF-8; a close frame carries 123
    with pytest.raises(wsio.ConnectionClosed) as closed:
        await asyncio.wait_for(client.recv(), 2)
    assert closed.value.code == 4002
    assert closed.value.reason == "é" * 61


async def test_a_reader_that_stops_reading_holds_back_the_writer(harness: Harness) -> None:
    """A bounded receive queue: the server's queue fills, reading pauses, and the client's
    sends wait (how a data channel's full queue pushes back on its writer)."""
    server, client = await _connected(harness, wsio.Options(max_queue=4))
    chunk = b"z" * 256 * 1024
    sent = 0

    async def writer() -> None:
        nonlocal sent
        while True:
            await client.send(chunk)
            sent += 1

    task = asyncio.ensure_future(writer())
    seen = [-1]

    def stalled() -> bool:
        same = sent == seen[0]
        seen[0] = sent
        return same

    await eventually(stalled, 5, 0.1, what="the writer to block")
    stalled_at = sent
    await stays(lambda: sent == stalled_at, 0.3, what="no message sent while the reader does not read")
    assert sent < 200  # 50 MiB: far more than queue plus socket buffers hold
    for _ in range(stalled_at):
        assert await asyncio.wait_for(server.recv(), 5) == chunk
    await eventually(lambda: sent > stalled_at, 5, what="the writer to resume once the reader reads")
    task.cancel()


async def test_invalid_utf8_in_a_text_message_closes_1007_when_decoded(server_only: Harness) -> None:
    port = await server_only.start()
    raw = await RawClient.open(port)
    raw.send(TEXT, b"\xff\xfe")
    await eventually(lambda: server_only.accepted, 5, what="the server to accept")
    server = server_only.accepted[0]
    with pytest.raises(wsio.ConnectionClosed) as closed:
        await asyncio.wait_for(server.recv(), 5)
    assert closed.value.code == 1007
    payload = await asyncio.wait_for(raw.read_until(CLOSE), 5)
    assert int.from_bytes(payload[:2], "big") == 1007
    raw.close()
