"""A stream that breaks off is never taken for a whole one, and never leaves its reader hanging.

Request side: the client sends part of a body and leaves; the handler reading the request-body
channel is woken (pyiii.sdk raises ``ChannelAborted``; the official SDK ends its read, as it does
on any close). Response side: a handler's response writer that leaves without finishing gives the
HTTP client a 502 (nothing sent yet) or a truncated chunked body (some sent), never a clean end.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from pyiii import InitOptions, register_worker
from pyiii.sdk import ChannelAborted
from tests.integration.http.support import HttpEngine, wait_route
from tests.support import wsraw
from tests.support.waiting import eventually, eventually_sync


@pytest.fixture(scope="module")
def pyiii_worker(http_engine: HttpEngine) -> Iterator[Any]:
    with register_worker(http_engine.proc.url, InitOptions(worker_name="pyiii-abort")) as w:
        yield w


def _route(worker: Any, function_id: str, handler: Any, api_path: str, method: str = "POST") -> None:
    worker.register_function(function_id, handler)
    worker.register_trigger({"type": "http", "function_id": function_id,
                             "config": {"api_path": api_path, "http_method": method}})


def _send_half_a_body_and_leave(port: int, path: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\n"
                     f"content-length: 100000\r\n\r\n".encode() + b"z" * 5000)
        # The handler is called as soon as the head is in; leave once it has started reading.
        eventually_sync(lambda: bool(started), 10, what="the handler started reading")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


started: list[str] = []


def test_pyiii_sdk_reader_of_an_aborted_request_body_gets_an_error(http_engine: HttpEngine,
                                                                    pyiii_worker: Any) -> None:
    outcome: list[str] = []

    async def upload(req: dict[str, Any]) -> dict[str, Any]:
        started.append("pyiii")
        try:
            data = await req["request_body"].read_all()
        except ChannelAborted as exc:
            outcome.append(f"aborted {exc.code}")
            raise
        outcome.append(f"whole {len(data)}")
        return {"status_code": 200, "body": {"size": len(data)}}

    _route(pyiii_worker, "abort::pyiii_upload", upload, "/abort/pyiii")
    wait_route(http_engine.base, "POST", "/abort/pyiii", content=b"x")
    assert outcome == ["whole 1"]
    outcome.clear()
    started.clear()
    _send_half_a_body_and_leave(http_engine.http_port, "/abort/pyiii")
    assert eventually_sync(lambda: outcome, 10, what="the reader woke up") == ["aborted 1011"]


def test_official_sdk_reader_of_an_aborted_request_body_does_not_hang(http_engine: HttpEngine, worker: Any) -> None:
    outcome: list[int] = []
    done = threading.Event()

    async def upload(req: dict[str, Any]) -> dict[str, Any]:
        started.append("official")
        try:
            data = await req["request_body"].read_all()
            outcome.append(len(data))
        finally:
            done.set()
        return {"status_code": 200, "body": {"size": len(data)}}

    _route(worker, "abort::official_upload", upload, "/abort/official")
    wait_route(http_engine.base, "POST", "/abort/official", content=b"x")
    done.clear()
    started.clear()
    _send_half_a_body_and_leave(http_engine.http_port, "/abort/official")
    assert done.wait(10), "the official SDK's reader still waits on a body whose client left"
    assert outcome[-1] < 100000  # it ends its read on any close; it cannot tell (docs/compatibility.md)


async def _abort_writer(port: int, channel_id: str, access_key: str, data: bytes) -> None:
    """Connect to a response channel as its writer, send ``data``, drop the TCP connection."""
    _reader, writer = await wsraw.upgrade(port, f"/ws/channels/{channel_id}?key={quote(access_key, safe='')}&dir=write")
    if data:
        writer.write(wsraw.frame(0x2, data))
        await writer.drain()
    writer.transport.abort()


def _raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("sent", [b"", b"partial body"], ids=["nothing-sent", "some-sent"])
def test_a_response_writer_that_breaks_off_is_not_a_whole_response(http_engine: HttpEngine, pyiii_worker: Any,
                                                                   sent: bytes) -> None:
    async def stream(req: dict[str, Any]) -> None:
        ref = req["response"].ref
        await _abort_writer(http_engine.proc.port, ref.channel_id, ref.access_key, sent)
        return None

    path = f"/abort/stream{len(sent)}"
    _route(pyiii_worker, f"abort::stream_{len(sent)}", stream, path, "GET")
    received = eventually_sync(lambda: (r := _raw_get(http_engine.http_port, path)) and b" 404 " not in r[:20] and r,
                               15, what="the route answers")
    head, _, body = received.partition(b"\r\n\r\n")
    if not sent:
        assert head.startswith(b"HTTP/1.1 502"), received
        assert b"RESPONSE_ABORTED" in body
    else:
        assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower(), received
        assert b"partial body" in body
        assert not body.endswith(b"0\r\n\r\n"), "a broken-off stream must not end like a whole one"


def test_a_reader_that_comes_after_the_body_broke_off_is_told_so(http_engine: HttpEngine, pyiii_worker: Any) -> None:
    """The client left mid-body and the engine has already forgotten the request channel when the
    handler's reader attaches: the reader gets 1011 (stream aborted), not a 404 it could take for
    a wrong key, and only with the channel's key."""
    refs: list[Any] = []
    release = threading.Event()
    release.set()  # the warm-up call is answered at once

    async def late(req: dict[str, Any]) -> dict[str, Any]:
        started.append("late")
        refs.append(req["request_body"].ref)
        await asyncio.to_thread(release.wait, 20)  # attach nothing until the test has looked
        return {"status_code": 200, "body": {}}

    _route(pyiii_worker, "abort::late_reader", late, "/abort/late")
    wait_route(http_engine.base, "POST", "/abort/late", content=b"x")
    started.clear()
    release.clear()
    try:
        _send_half_a_body_and_leave(http_engine.http_port, "/abort/late")
        ref = refs[-1]
        port, key = http_engine.proc.port, quote(ref.access_key, safe="")

        async def forgotten() -> bool:  # the engine writes the body: a writer is refused 404 once it is gone
            try:
                _r, w = await wsraw.upgrade(port, f"/ws/channels/{ref.channel_id}?key={key}&dir=write")
            except ConnectionError as exc:
                return " 404" in str(exc)
            w.close()
            return False

        async def attach_late() -> tuple[int | None, bool]:
            await eventually(forgotten, 10, what="the exchange is over and its channels forgotten")
            reader, writer = await wsraw.upgrade(port, f"/ws/channels/{ref.channel_id}?key={key}&dir=read")
            code = await wsraw.close_code(reader)
            writer.close()
            try:
                await wsraw.upgrade(port, f"/ws/channels/{ref.channel_id}?key=wrong&dir=read")
            except ConnectionError:
                return code, True
            return code, False

        code, wrong_key_refused = asyncio.run(attach_late())
        assert code == 1011
        assert wrong_key_refused
    finally:
        release.set()
