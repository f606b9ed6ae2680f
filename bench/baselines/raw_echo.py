"""One-hop floor of B2-B4: a ``websockets`` server that sends every frame straight back.

Same JSON-free hot path as a perfect server, same settings as pyiii (uvloop, TCP_NODELAY,
compression off, 64 MiB max_size).
"""

from __future__ import annotations

import argparse
import socket

import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def handler(ws: ServerConnection) -> None:
    ws.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            await ws.send(await ws.recv(decode=False), text=True)
    except ConnectionClosed:
        pass


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=64 * 1024 * 1024,
                     ping_interval=20, ping_timeout=20, server_header=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
