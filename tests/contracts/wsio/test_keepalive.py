"""Ping/pong: a peer that answers stays, one that does not is dropped in bounded time."""

from __future__ import annotations

import asyncio

from pyiii import wsio
from tests.contracts.wsio.conftest import Harness
from tests.contracts.wsio.raw import PING, RawClient
from tests.support.waiting import eventually, stays

FAST_PINGS = wsio.Options(ping_interval_s=0.2, ping_timeout_s=0.2, close_timeout_s=0.2)


async def test_a_peer_that_answers_pings_stays_connected(harness: Harness) -> None:
    await harness.start(FAST_PINGS)
    client = await harness.connect(options=wsio.Options(ping_interval_s=None))
    await eventually(lambda: harness.accepted, 5, what="the server to accept")
    server = harness.accepted[0]
    await stays(lambda: server.open and client.open, 1.0, what="the connection to stay open")
    await client.send("still here")
    assert await server.recv() == "still here"


async def test_a_peer_that_never_answers_is_dropped(server_only: Harness) -> None:
    port = await server_only.start(FAST_PINGS)
    raw = await RawClient.open(port)
    await eventually(lambda: server_only.accepted, 5, what="the server to accept")
    server = server_only.accepted[0]
    await asyncio.wait_for(raw.read_until(PING), 5)  # pinged, and never answers
    await asyncio.wait_for(server.wait_closed(), 5)
    assert not server.open
    assert server.close_code is not None
    raw.close()
