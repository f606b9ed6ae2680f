"""The hub's fan-out: the first event of a loop turn is written to each subscriber at once, the
rest of the turn's events are batched; closed subscribers are skipped, lagging ones evicted."""

from __future__ import annotations

import asyncio
from typing import cast

from pyiii.workers.stream.hub import Client, Hub, Subscription
from pyiii.wsio import Connection, ConnectionClosed
from tests.support.waiting import eventually


class FakeConnection:
    """What the hub uses of a connection; records how each frame was handed over."""

    def __init__(self, buffered: int = 0, is_open: bool = True) -> None:
        self.buffered_bytes = buffered
        self.open = is_open
        self.remote_address = ("127.0.0.1", 1)
        self.sent: list[tuple[str, bytes]] = []
        self.closed_with: int | None = None

    def _take(self, how: str, payload: bytes) -> None:
        if not self.open:
            raise ConnectionClosed(1006)
        self.sent.append((how, payload))

    def write_text(self, payload: bytes) -> None:
        self._take("write", payload)

    def post_text(self, payload: bytes) -> None:
        self._take("post", payload)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code
        self.open = False


def _event(n: int) -> bytes:
    return b'{"type":"stream","streamName":"s","groupId":"g","id":null,"event":{"n":%d}}' % n


def _subscribe(hub: Hub, conn: FakeConnection) -> Client:
    client = Client(cast(Connection, conn))
    hub.add(Subscription(client, "sub", "s", "g", None, pending=None))
    return client


async def test_first_event_of_a_turn_is_written_at_once_the_rest_batched() -> None:
    hub = Hub(buffer_limit=1024)
    conns = [FakeConnection() for _ in range(3)]
    for conn in conns:
        _subscribe(hub, conn)
    hub.dispatch(_event(1))
    hub.dispatch(_event(2))
    await asyncio.sleep(0)  # the end of this loop turn (what is tested, not a wait for time)
    hub.dispatch(_event(3))
    for conn in conns:
        assert conn.sent == [("write", _event(1)), ("post", _event(2)), ("write", _event(3))]


async def test_closed_subscribers_are_skipped_and_lagging_ones_evicted() -> None:
    hub = Hub(buffer_limit=1024)
    closed, lagging, fine = FakeConnection(is_open=False), FakeConnection(buffered=4096), FakeConnection()
    gone_and_full = FakeConnection(buffered=4096, is_open=False)
    for conn in (closed, lagging, fine, gone_and_full):
        _subscribe(hub, conn)
    hub.dispatch(_event(1))
    assert fine.sent == [("write", _event(1))]
    assert closed.sent == lagging.sent == gone_and_full.sent == []
    assert hub.evictions == 1  # the lagging one only: a closed connection is not evicted
    await eventually(lambda: lagging.closed_with == 1013, 5, what="the lagging client to be closed with 1013")
    assert gone_and_full.closed_with is None
    hub.dispatch(_event(2))  # the evicted client gets nothing more
    assert lagging.sent == [] and fine.sent[-1][1] == _event(2)
