"""Who is subscribed to what, and fan-out of encoded events to them.

Each event arrives as encoded JSON bytes and goes, as the same bytes object, to every matching
connection: one encoding per event whatever the number of subscribers. The first event of a
loop turn is written to each connection at once (``write_text``), so the first subscribers'
frames are on the wire while the loop is still writing to the last ones; later events of the
same turn (a burst) are posted (``post_text``) and leave in one write per connection at the
end of the turn. There is no per-client queue or task: a client's backlog is its
transport's write buffer, and a client that already has more than ``buffer_limit`` bytes waiting
when the next event comes is closed with 1013 instead of letting engine memory grow (so one
client holds at most ``buffer_limit`` plus one message: an item larger than the limit still
reaches a client that keeps up).

A join's snapshot (:mod:`pyiii.workers.stream.snapshot`) is sent page by page with flow control
(each page waits until the client has taken the previous ones), within ``sync_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from pyiii.workers.stream.payloads import EnvelopeHead
from pyiii.wsio import Connection, ConnectionClosed

log = logging.getLogger("pyiii.stream")

SLOW_CLIENT_CODE = 1013  # "Try Again Later": the client fell behind and may reconnect


@dataclass(eq=False, slots=True)
class Subscription:
    client: Client
    subscription_id: str
    stream_name: str
    group_id: str
    item_id: str | None
    #: Events that arrived before the join's sync was sent; flushed right after it.
    pending: list[bytes] | None = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Client:
    connection: Connection
    context: object = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    evicted: bool = False


class Hub:
    def __init__(self, buffer_limit: int) -> None:
        self.buffer_limit = buffer_limit
        #: (stream_name, group_id) -> subscriptions on that group
        self._index: dict[tuple[str, str], set[Subscription]] = {}
        self._head = msgspec.json.Decoder(EnvelopeHead)
        self._tasks: set[asyncio.Task[None]] = set()
        self.evictions = 0
        #: An event was fanned out in this loop turn already: the next ones are batched.
        self._turn_busy = False

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._index.values())

    # ------------------------------------------------------------------ subscriptions

    def add(self, sub: Subscription) -> None:
        """Index ``sub`` (replacing the client's subscription of the same id)."""
        self.remove(sub.client, sub.subscription_id)
        sub.client.subscriptions[sub.subscription_id] = sub
        self._index.setdefault((sub.stream_name, sub.group_id), set()).add(sub)

    def remove(self, client: Client, subscription_id: str) -> Subscription | None:
        sub = client.subscriptions.pop(subscription_id, None)
        if sub is not None:
            key = (sub.stream_name, sub.group_id)
            subs = self._index.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._index[key]
        return sub

    def drop(self, client: Client) -> list[Subscription]:
        subs = list(client.subscriptions.values())
        for sub in subs:
            self.remove(client, sub.subscription_id)
        return subs

    async def deliver_sync(self, sub: Subscription, pages: Iterable[bytes], timeout_s: float) -> None:
        """Send the join's snapshot with flow control, then what arrived meanwhile, and go live.
        A client that does not take the snapshot within ``timeout_s`` is closed with 1013."""
        client = sub.client
        try:
            async with asyncio.timeout(timeout_s):
                for page in pages:
                    if client.evicted or client.subscriptions.get(sub.subscription_id) is not sub:
                        return  # closed, left or re-joined meanwhile
                    await client.connection.send_text(page)
        except TimeoutError:
            self.evict(client, "subscriber too slow: the join's snapshot was not read in time")
            return
        except ConnectionClosed:
            return
        if client.subscriptions.get(sub.subscription_id) is not sub:
            return
        backlog, sub.pending = sub.pending or [], None
        for event in backlog:
            self.send(client, event)

    # ------------------------------------------------------------------ delivery

    def dispatch(self, event: bytes) -> None:
        """Deliver one encoded envelope to every subscription it matches."""
        try:
            head = self._head.decode(event)
        except msgspec.DecodeError:
            log.warning("dropped an undecodable stream event (%d bytes)", len(event))
            return
        subs = self._index.get((head.stream_name, head.group_id))
        if not subs:
            return
        targets: dict[Client, None] = {}
        for sub in subs:
            if sub.item_id is not None and sub.item_id != head.id:
                continue
            if sub.pending is not None:
                if sum(map(len, sub.pending)) > self.buffer_limit:  # same rule as the write buffer
                    self.evict(sub.client, "subscriber too slow: backlog during sync exceeded the buffer limit")
                else:
                    sub.pending.append(event)
                continue
            targets[sub.client] = None
        now = not self._turn_busy
        if now:
            self._turn_busy = True
            asyncio.get_running_loop().call_soon(self._end_turn)
        self._broadcast(targets, event, now)

    def _end_turn(self) -> None:
        self._turn_busy = False

    def send(self, client: Client, event: bytes) -> None:
        self._broadcast({client: None}, event, False)

    def _broadcast(self, clients: dict[Client, None], event: bytes, now: bool) -> None:
        limit = self.buffer_limit
        for client in clients:
            if client.evicted:
                continue
            conn = client.connection
            if conn.buffered_bytes > limit:
                if conn.open:
                    self.evict(client, f"subscriber too slow: more than {limit} bytes waiting to be sent")
                continue
            # A closed connection refuses the frame: cheaper than asking ``open`` of every one.
            try:
                if now:
                    conn.write_text(event)
                else:
                    conn.post_text(event)
            except ConnectionClosed:
                continue

    def evict(self, client: Client, reason: str) -> None:
        """Close a client that does not keep up; its subscriptions stop receiving at once."""
        if client.evicted:
            return
        client.evicted = True
        self.evictions += 1
        for sub in list(client.subscriptions.values()):
            key = (sub.stream_name, sub.group_id)
            subs = self._index.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._index[key]
        addr = client.connection.remote_address
        log.warning("closing stream client %s (code %d): %s", addr, SLOW_CLIENT_CODE, reason)
        task = asyncio.ensure_future(client.connection.close(SLOW_CLIENT_CODE, reason[:120]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
