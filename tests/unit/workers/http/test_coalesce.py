"""The http-functions client sends a small request in one write (see workers/http_functions/coalesce.py)."""

from __future__ import annotations

import asyncio

import httpcore

from pyiii.workers.http_functions.coalesce import FLUSH_AT, CoalescingBackend, coalescing_transport


class Recording(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    async def aclose(self) -> None:
        pass


class OneStream(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.stream = Recording()

    async def connect_tcp(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        return self.stream


def test_head_and_body_leave_in_one_write_and_large_bodies_stream() -> None:
    async def run() -> None:
        backend = OneStream()
        async with httpcore.AsyncConnectionPool(network_backend=CoalescingBackend(backend)) as pool:
            response = await pool.request("POST", "http://example.test/hook", content=b'{"a":1}')
            assert response.content == b"{}"
            assert len(backend.stream.writes) == 1
            assert backend.stream.writes[0].startswith(b"POST /hook") and backend.stream.writes[0].endswith(b'{"a":1}')

            backend.stream.writes.clear()
            await pool.request("POST", "http://example.test/big", content=b"x" * (3 * FLUSH_AT))
            assert all(len(w) >= FLUSH_AT for w in backend.stream.writes)

    asyncio.run(run())


def test_the_httpx_transport_is_wrapped() -> None:
    transport = coalescing_transport()
    assert isinstance(transport._pool._network_backend, CoalescingBackend)
