"""The two-hop "ideal engine" of B2-B4 (bench/baselines/relay.py) on picows instead of websockets.

caller -> relay -> worker -> relay -> caller, routed by ``invocation_id``; received frames are
forwarded unchanged. Same JSON library (msgspec), event loop (uvloop), socket option
(TCP_NODELAY), no compression, 64 MiB frame limit and 20 s keepalive as pyiii. The echo worker
connects to ``/worker``; everyone else is a caller.

picows hands over frames, not messages: the relay forwards each frame as it arrives, which is a
whole message for every client of the benchmarks (none of them fragments). Each forwarded frame
is one ``WSTransport.send`` (a copy into picows' write buffer and one socket write): picows has
no call that writes several frames at once, so unlike relay.py there is no per-turn batching.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

import msgspec
import picows
import uvloop

MAX_SIZE = 64 * 1024 * 1024
TEXT = picows.WSMsgType.TEXT


class Header(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None


decode = msgspec.json.Decoder(Header).decode
routes: dict[str, picows.WSTransport] = {}  # invocation_id -> caller
workers: list[picows.WSTransport] = []


class Caller(picows.WSListener):
    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        _nodelay(transport)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != TEXT:
            _control(transport, frame)
            return
        raw = frame.get_payload_as_bytes()
        h = decode(raw)
        if h.type != "invokefunction" or h.invocation_id is None:
            return
        if workers:
            routes[h.invocation_id] = transport
            workers[0].send(TEXT, raw)
        else:
            transport.send(TEXT, b'{"type":"invocationresult","invocation_id":"%s","error":{"code":"no_worker"}}'
                           % h.invocation_id.encode())


class Worker(picows.WSListener):
    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        _nodelay(transport)
        workers.insert(0, transport)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        workers.remove(transport)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != TEXT:
            _control(transport, frame)
            return
        raw = frame.get_payload_as_bytes()
        h = decode(raw)
        if h.type == "invocationresult" and h.invocation_id is not None:
            caller = routes.pop(h.invocation_id, None)
            if caller is not None and not caller.is_disconnected:
                caller.send(TEXT, raw)


def _nodelay(transport: picows.WSTransport) -> None:
    sock = transport.underlying_transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _control(transport: picows.WSTransport, frame: picows.WSFrame) -> None:
    # picows answers pings itself (enable_auto_pong); a close is answered and the socket dropped.
    if frame.msg_type == picows.WSMsgType.CLOSE:
        transport.send_close(frame.get_close_code(), frame.get_close_message())
        transport.disconnect()


def route(request: picows.WSUpgradeRequest) -> Any:
    return Worker() if request.path == b"/worker" else Caller()


async def main(port: int) -> None:
    server = await picows.ws_create_server(route, "127.0.0.1", port, max_frame_size=MAX_SIZE,
                                           enable_auto_ping=True, auto_ping_idle_timeout=20,
                                           auto_ping_reply_timeout=20)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
