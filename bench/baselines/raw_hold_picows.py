"""bench/baselines/raw_hold.py on picows: holds connections and does nothing else.

On connect it sends one ``workerregistered``-shaped frame (as the engine does), then drops
whatever the client sends until it goes. uvloop, TCP_NODELAY, no compression, 64 MiB frame limit,
20 s keepalive, like the ``websockets`` twin.
"""

from __future__ import annotations

import argparse
import socket

import picows
import uvloop

HELLO = b'{"type":"workerregistered","worker_id":"00000000-0000-4000-8000-000000000000"}'


class Hold(picows.WSListener):
    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.send(picows.WSMsgType.TEXT, HELLO)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type == picows.WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


async def main(port: int) -> None:
    server = await picows.ws_create_server(lambda _request: Hold(), "127.0.0.1", port,
                                           max_frame_size=64 * 1024 * 1024, enable_auto_ping=True,
                                           auto_ping_idle_timeout=20, auto_ping_reply_timeout=20, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
