"""Echo worker used behind the engine and the relay: raw ``websockets`` + ``msgspec``.

Registers ``--functions`` ids (``<prefix>`` for 1, ``<prefix>_<i>`` otherwise), then answers every
``invokefunction`` with an ``invocationresult`` whose ``result`` is the call's ``data``.
"""

from __future__ import annotations

import argparse
import socket

import msgspec
import uvloop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


class Invoke(msgspec.Struct):
    type: str = ""
    invocation_id: str | None = None
    function_id: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class Result(msgspec.Struct, tag="invocationresult", tag_field="type"):
    invocation_id: str
    function_id: str
    result: msgspec.Raw


def function_ids(prefix: str, n: int) -> list[str]:
    return [prefix] if n == 1 else [f"{prefix}_{i}" for i in range(n)]


async def main(url: str, n: int, prefix: str) -> None:
    decode = msgspec.json.Decoder(Invoke).decode
    encode = msgspec.json.Encoder().encode
    async with connect(url, compression=None, max_size=64 * 1024 * 1024, ping_interval=None) as ws:
        ws.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for fid in function_ids(prefix, n):
            await ws.send(b'{"type":"registerfunction","id":' + encode(fid) + b"}", text=True)
        try:
            while True:
                msg = decode(await ws.recv(decode=False))
                if msg.type == "invokefunction" and msg.invocation_id is not None:
                    await ws.send(encode(Result(msg.invocation_id, msg.function_id, msg.data)), text=True)
        except ConnectionClosed:
            pass


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--functions", type=int, default=1)
    ap.add_argument("--prefix", default="bench::echo")
    a = ap.parse_args()
    uvloop.run(main(a.url, a.functions, a.prefix))
