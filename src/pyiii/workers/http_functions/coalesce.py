"""Send a request's head and its body in one write.

httpcore writes the request head and the body as two ``send()`` calls; with TCP_NODELAY they leave
as two segments. Minimal webhook receivers read a single ``recv()`` and take it as the whole
request: they see the head without the body, and when they close with the body still unread the
kernel answers with a reset that also loses their response (``reading the response failed``).
The reference engine's client (hyper) sends a small request in one write.

This network stream holds what is written until the connection is read (the request is complete
then) or until ``FLUSH_AT`` bytes are pending, so a small request goes out in one segment and a
large body is still streamed without being copied whole.
"""

from __future__ import annotations

import ssl
import typing

import httpcore

FLUSH_AT = 64 * 1024


class CoalescingStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._pending = bytearray()

    async def _flush(self, timeout: float | None) -> None:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            await self._inner.write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._pending += buffer
        if len(self._pending) >= FLUSH_AT:
            await self._flush(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        await self._inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return CoalescingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class CoalescingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return CoalescingStream(stream)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def coalescing_transport(**kwargs: typing.Any) -> typing.Any:
    """An ``httpx.AsyncHTTPTransport`` whose connections coalesce writes (see the module doc).

    httpx has no public hook for the network backend; its pool takes one, so it is wrapped here.
    The unit test ``test_coalesce`` fails loudly if a new httpx moves it.
    """
    import httpx

    transport = httpx.AsyncHTTPTransport(**kwargs)
    pool = transport._pool
    if not isinstance(pool, httpcore.AsyncConnectionPool):
        raise TypeError(f"unexpected httpx transport pool {type(pool).__name__}")
    pool._network_backend = CoalescingBackend(pool._network_backend)
    return transport
