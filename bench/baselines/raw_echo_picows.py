"""One-hop floor on picows (bench/baselines/raw_echo.py on picows): every text frame goes
straight back. uvloop, TCP_NODELAY, no compression, 64 MiB frame limit."""

from __future__ import annotations

import argparse
import socket

import picows
import uvloop

TEXT = picows.WSMsgType.TEXT


class Echo(picows.WSListener):
    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type == TEXT:
            transport.send(TEXT, frame.get_payload_as_memoryview())
        elif frame.msg_type == picows.WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()


async def main(port: int) -> None:
    server = await picows.ws_create_server(lambda _request: Echo(), "127.0.0.1", port,
                                           max_frame_size=64 * 1024 * 1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvloop.run(main(ap.parse_args().port))
