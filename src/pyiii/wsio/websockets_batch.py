"""Several WebSocket text frames in one socket write.

``websockets``' ``send()`` writes each message on its own: one syscall, and one wake-up of the
peer, per frame. When many frames are ready in the same event-loop turn (invocations in
flight, results coming back) writing them together is most of the per-message cost saved.
Used by the websockets backend's ``post_text`` (websockets_connection.py).

Two attributes used here are not documented by websockets (``send_in_progress``,
``set_connection_exc``); tests/contracts/wsio/test_websockets_internals.py fails when a
release renames them.
"""

from __future__ import annotations

from collections.abc import Sequence

from websockets.asyncio.connection import Connection
from websockets.protocol import State


def can_write_now(connection: Connection) -> bool:
    """Whether :func:`write_text_frames` may write: the connection is open and no fragmented
    message is half sent (otherwise use ``connection.send``, which waits or raises)."""
    return connection.protocol.state is State.OPEN and connection.send_in_progress is None


def write_text_frames(connection: Connection, frames: Sequence[bytes]) -> None:
    """Frame each UTF-8 payload as a text message and write them all at once, in order.

    The caller checked :func:`can_write_now`. A transport failure ends the connection the way
    ``websockets`` does (its reader then sees the close)."""
    protocol = connection.protocol
    for frame in frames:
        protocol.send_text(frame)
    # Only ours: websockets writes what it queues itself (pongs, close frames) immediately.
    chunks = protocol.data_to_send()
    try:
        connection.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
    except Exception as exc:
        connection.set_connection_exc(exc)
        connection.transport.abort()


async def wait_writable(connection: Connection) -> None:
    """Wait while the socket's buffer is over its high-water mark (websockets' flow control);
    raises if the connection is lost meanwhile."""
    if connection.paused:
        await connection.drain()
