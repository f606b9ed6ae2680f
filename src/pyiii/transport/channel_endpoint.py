"""The two WebSocket ends of a data channel (spec/protocol.md §5.2).

The writer's frames are queued as they are (text stays text, binary stays binary); a full queue
stops reading, which is TCP backpressure to the writer. The reader gets the items in order and
a Close frame once the writer finished and the queue is drained.
"""

from __future__ import annotations

import logging

from pyiii.core.channels import EOF, Channel, ChannelRegistry
from pyiii.wsio import Connection, ConnectionClosed

log = logging.getLogger("pyiii.channels")


async def serve_writer(connection: Connection, channel: Channel, registry: ChannelRegistry) -> None:
    try:
        async for message in connection:
            await channel.queue.put(message)
    finally:
        await channel.queue.put(EOF)
        registry.finish(channel, "write")


async def serve_reader(connection: Connection, channel: Channel, registry: ChannelRegistry) -> None:
    try:
        while True:
            item = await channel.queue.get()
            if item is EOF:
                await connection.close(1000)
                break
            assert isinstance(item, (str, bytes))
            await connection.send(item)
    except ConnectionClosed:
        log.debug("reader of channel %s left before the end of the stream", channel.id)
    finally:
        registry.finish(channel, "read")
