"""The upgrade hook: what it sees, how it refuses, plain HTTP on the same port."""

from __future__ import annotations

import asyncio
import json

import pytest

from pyiii import wsio
from tests.contracts.wsio.conftest import Harness
from tests.contracts.wsio.raw import RawClient
from tests.support.waiting import eventually


async def test_the_hook_sees_path_query_headers_and_remote_address(harness: Harness) -> None:
    await harness.start()
    client = await harness.connect(
        "/otel?token=a%20b&x=1", wsio.Options(headers=(("Authorization", "Bearer t"), ("X-Custom", "v"))))
    request = harness.requests[0]
    assert (request.path, request.query) == ("/otel", "token=a%20b&x=1")
    assert request.header("authorization") == "Bearer t"
    assert request.lowercase_headers()["x-custom"] == "v"
    assert request.remote is not None and request.remote[0] == "127.0.0.1"
    await eventually(lambda: harness.accepted, 5, what="the server to accept")
    server = harness.accepted[0]
    assert server.request == request
    assert server.remote_address == request.remote
    await client.close()


async def test_the_hook_may_await_before_accepting_and_attach_state(harness: Harness) -> None:
    gate = asyncio.Event()

    async def upgrade(request: wsio.Request) -> wsio.Accept:
        await gate.wait()  # e.g. an auth function call
        return wsio.Accept(state={"user": "ada"})

    harness.upgrade = upgrade
    await harness.start()
    connecting = asyncio.ensure_future(harness.connect())
    await eventually(lambda: harness.requests, 5, what="the hook to be called")
    assert not connecting.done()
    gate.set()
    client = await asyncio.wait_for(connecting, 5)
    await eventually(lambda: harness.accepted, 5, what="the server to accept")
    assert harness.accepted[0].state == {"user": "ada"}
    await client.close()


async def test_a_refusal_carries_its_status_and_body(harness: Harness) -> None:
    async def upgrade(request: wsio.Request) -> wsio.HttpReply:
        return wsio.HttpReply.json(401, {"error": {"code": "AUTH_ERROR"}})

    harness.upgrade = upgrade
    await harness.start()
    with pytest.raises(wsio.HandshakeRefused) as refused:
        await harness.connect()
    assert refused.value.status == 401
    assert json.loads(refused.value.body) == {"error": {"code": "AUTH_ERROR"}}
    assert not harness.accepted


async def test_plain_get_is_answered_on_the_same_port(server_only: Harness) -> None:
    async def upgrade(request: wsio.Request) -> wsio.HttpReply | None:
        if request.path == "/healthz":
            return wsio.HttpReply.json(200, {"status": "ok"}, (("Cache-Control", "no-store"),))
        return None

    server_only.upgrade = upgrade
    port = await server_only.start()
    raw = await RawClient.open(port, "/healthz", upgrade=False)
    assert raw.status == 200
    assert "cache-control: no-store" in raw.head.lower()
    assert "content-type: application/json" in raw.head.lower()
    assert json.loads(await asyncio.wait_for(raw.body(), 5)) == {"status": "ok"}


async def test_accepted_headers_reach_the_client(server_only: Harness) -> None:
    async def upgrade(request: wsio.Request) -> wsio.Accept:
        return wsio.Accept(headers=(("X-Session", "s1"),))

    server_only.upgrade = upgrade
    port = await server_only.start()
    raw = await RawClient.open(port)
    assert raw.status == 101
    assert "x-session: s1" in raw.head.lower()
    assert "sec-websocket-extensions" not in raw.head.lower()  # permessage-deflate declined
    raw.close()


async def test_deflate_offered_by_a_client_is_declined(server_only: Harness) -> None:
    port = await server_only.start()
    raw = await RawClient.open(port, headers={"Sec-WebSocket-Extensions": "permessage-deflate"})
    assert raw.status == 101
    assert "permessage-deflate" not in raw.head.lower()
    raw.close()


async def test_an_accepted_request_without_upgrade_headers_is_refused(server_only: Harness) -> None:
    port = await server_only.start()
    raw = await RawClient.open(port, "/", upgrade=False)
    assert 400 <= raw.status < 500
    assert not server_only.accepted


async def test_a_silent_socket_is_dropped_after_the_handshake_timeout(server_only: Harness) -> None:
    port = await server_only.start(wsio.Options(handshake_timeout_s=0.3))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\n")  # never finishes the head
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
