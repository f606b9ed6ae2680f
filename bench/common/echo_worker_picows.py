"""bench/common/echo_worker.py on picows: the same registrations and the same answers
(``invocationresult`` whose ``result`` is the call's ``data``), a cheaper WebSocket library.

    python bench/common/echo_worker_picows.py URL [--functions N] [--prefix P]
"""

from __future__ import annotations

import argparse
import socket

import msgspec
import picows
import uvloop

# run as a script: its folder (bench/common) is on sys.path
from echo_worker import Invoke, Result, function_ids

TEXT = picows.WSMsgType.TEXT


class EchoWorker(picows.WSListener):
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.decode = msgspec.json.Decoder(Invoke).decode
        self.encode = msgspec.json.Encoder().encode

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for fid in self.ids:
            transport.send(TEXT, b'{"type":"registerfunction","id":' + self.encode(fid) + b"}")

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type != TEXT:
            if frame.msg_type == picows.WSMsgType.CLOSE:
                transport.disconnect()
            return
        msg = self.decode(frame.get_payload_as_memoryview())
        if msg.type == "invokefunction" and msg.invocation_id is not None:
            transport.send(TEXT, self.encode(Result(msg.invocation_id, msg.function_id, msg.data)))


async def main(url: str, n: int, prefix: str) -> None:
    ids = function_ids(prefix, n)
    transport, _ = await picows.ws_connect(lambda: EchoWorker(ids), url, max_frame_size=64 * 1024 * 1024)
    await transport.wait_disconnected()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--functions", type=int, default=1)
    ap.add_argument("--prefix", default="bench::echo")
    a = ap.parse_args()
    uvloop.run(main(a.url, a.functions, a.prefix))
