"""The two WebSocket ends of a data channel (spec/protocol.md §5.2).

The writer's frames are queued as they are (text stays text, binary stays binary); a full queue
stops reading, which is TCP backpressure to the writer. The reader gets the items in order and
a normal Close (1000) once the writer finished and the queue is drained — or, when the writer's
connection broke off (no Close, or an error code), a 1011 Close, so a reader never takes part of
a stream for the whole of it.
"""

from __future__ import annotations

import logging

from pyiii.core.channels import ABORTED, EOF, Channel, ChannelRegistry
from pyiii.wsio import Connection, ConnectionClosed

log = logging.getLogger("pyiii.channels")

#: Close codes that mean "the writer finished": a Close with 1000, or a Close without a code
#: (1005; what Node's ws sends for ``close()``).
FINISHED_CODES = frozenset({1000, 1005})
#: The reader's close code and reason for a stream that broke off.
ABORTED_CODE = 1011
ABORTED_REASON = "stream aborted: the writer left before finishing"


async def serve_writer(connection: Connection, channel: Channel, registry: ChannelRegistry) -> None:
    finished = False
    try:
        async for message in connection:
            await channel.queue.put(message)
        finished = connection.close_code in FINISHED_CODES
    finally:
        if not finished:
            log.info("writer of channel %s left without finishing (close code %s)", channel.id, connection.close_code)
        channel.aborted = not finished
        await channel.queue.put(EOF if finished else ABORTED)
        registry.finish(channel, "write")


async def serve_reader(connection: Connection, channel: Channel, registry: ChannelRegistry) -> None:
    try:
        while True:
            item = await channel.queue.get()
            if item is EOF:
                await connection.close(1000)
                break
            if item is ABORTED:
                await connection.close(ABORTED_CODE, ABORTED_REASON)
                break
            assert isinstance(item, (str, bytes))
            await connection.send(item)
    except ConnectionClosed:
        log.debug("reader of channel %s left before the end of the stream", channel.id)
    finally:
        registry.finish(channel, "read")
