"""Minimal two-hop relay, the "ideal engine" of B2-B4: caller -> relay -> worker -> relay -> caller.

Same JSON library (msgspec), event loop (uvloop), socket options (TCP_NODELAY) and websockets
settings (compression off, 64 MiB max_size, 20 s heartbeat) as pyiii. It routes by
``invocation_id`` and forwards the frames it received unchanged. The echo worker connects to
``/worker``; everyone else is a caller. Like pyiii, it writes the frames a connection gets in one
event-loop turn in one socket write (without that, the relay would be the slower "engine").
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import msgspec
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State


class Header(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None


decode = msgspec.json.Decoder(Header).decode
routes: dict[str, ServerConnection] = {}  # invocation_id -> caller
worker: list[ServerConnection] = []
outboxes: dict[ServerConnection, list[bytes]] = {}


def send_soon(ws: ServerConnection, frame: bytes) -> None:
    box = outboxes.get(ws)
    if box is None:
        box = outboxes[ws] = []
        asyncio.get_running_loop().call_soon(flush, ws)
    box.append(frame)


def flush(ws: ServerConnection) -> None:
    frames = outboxes.pop(ws, [])
    if ws.protocol.state is State.OPEN:
        for frame in frames:
            ws.protocol.send_text(frame)
        ws.transport.write(b"".join(ws.protocol.data_to_send()))


async def handler(ws: ServerConnection) -> None:
    ws.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    is_worker = ws.request is not None and ws.request.path == "/worker"
    if is_worker:
        worker.insert(0, ws)
    try:
        while True:
            frame = await ws.recv(decode=False)
            h = decode(frame)
            if h.invocation_id is None:
                continue  # registerfunction etc.: one worker serves every function
            if is_worker:
                if h.type == "invocationresult" and (caller := routes.pop(h.invocation_id, None)):
                    send_soon(caller, frame)
            elif h.type == "invokefunction" and worker:
                routes[h.invocation_id] = ws
                send_soon(worker[0], frame)
            elif h.type == "invokefunction":
                send_soon(ws, b'{"type":"invocationresult","invocation_id":"%s","error":{"code":"no_worker"}}'
                          % h.invocation_id.encode())
    except ConnectionClosed:
        pass
    finally:
        if is_worker:
            worker.remove(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=64 * 1024 * 1024,
                     ping_interval=20, ping_timeout=20, server_header=None) as server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
