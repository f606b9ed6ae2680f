"""Several ``websockets`` text frames in one socket write, for the harness's raw worker
(bench/qbench.py).

Its own copy (pyiii's is ``pyiii.wsio.websockets_batch``) so that the benchmarks do not
depend on the engine's WebSocket library: issue #21 moves the engine to picows, and the raw
worker stays on ``websockets`` because, with many frames ready per loop turn (B6, B10), writing
them in one syscall beats picows' one write per frame (quick B10 on the same VM: 0.08 ms per
publish at K=1 batched on ``websockets`` vs 0.26 ms on picows, plain asyncio).
"""

from __future__ import annotations

from collections.abc import Sequence

from websockets.asyncio.connection import Connection
from websockets.protocol import State


def can_write_now(connection: Connection) -> bool:
    """Whether :func:`write_text_frames` may write: open, and no fragmented message half sent."""
    return connection.protocol.state is State.OPEN and connection.send_in_progress is None


def write_text_frames(connection: Connection, frames: Sequence[bytes]) -> None:
    """Frame each UTF-8 payload as a text message and write them all at once, in order."""
    protocol = connection.protocol
    for frame in frames:
        protocol.send_text(frame)
    chunks = protocol.data_to_send()
    try:
        connection.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
    except Exception as exc:
        connection.set_connection_exc(exc)
        connection.transport.abort()


async def wait_writable(connection: Connection) -> None:
    """Wait while the socket's buffer is over its high-water mark (websockets' flow control)."""
    if connection.paused:
        await connection.drain()
