"""The raw baseline of B16: a ``websockets`` server that holds connections and does nothing else.

On connect it sends one ``workerregistered``-shaped frame (as the engine does), then reads and
drops whatever the client sends until it goes. Same event loop (uvloop), websockets settings
(compression off, 64 MiB max_size, 20 s heartbeat) and TCP_NODELAY as pyiii.
"""

from __future__ import annotations

import argparse
import socket

import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

HELLO = b'{"type":"workerregistered","worker_id":"00000000-0000-4000-8000-000000000000"}'


async def handler(ws: ServerConnection) -> None:
    ws.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await ws.send(HELLO, text=True)
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=64 * 1024 * 1024,
                     ping_interval=20, ping_timeout=20, server_header=None, backlog=1024) as server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
