"""Coalesced basic.ack for one AMQP consumer channel.

Delivery tags on a channel grow 1, 2, 3... in delivery order. The acks requested in one flush
that form an unbroken run from the oldest unacked tag go out as one ``basic.ack(multiple)``
(every tag up to the last of the run is settled, so nothing unsettled is acked); the others are
acked one by one in the same flush, so no ack waits for a slower message.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class ChannelAcks:
    def __init__(self, channel: Any) -> None:
        #: the aiormq channel the tags belong to (a reconnect makes a new one, with new tags)
        self.channel = channel
        self._unacked: deque[int] = deque()
        self._open: set[int] = set()
        #: tags already acked one by one that are still in ``_unacked``
        self._acked: set[int] = set()

    def delivered(self, tag: int) -> None:
        self._unacked.append(tag)
        self._open.add(tag)

    def plan(self, tags: list[int]) -> tuple[int | None, list[int]]:
        """The acks for ``tags`` (settled now): (tag for one multiple ack or None, single tags).
        Updates the bookkeeping as if they were sent."""
        # a tag settled twice is acked once (a second ack of a tag closes the channel)
        settling = self._open.intersection(tags)
        self._open.difference_update(settling)
        top: int | None = None
        while self._unacked:
            head = self._unacked[0]
            if head in self._acked:
                self._acked.discard(head)
            elif head in settling:
                settling.discard(head)
                top = head
            else:
                break
            self._unacked.popleft()
        singles = sorted(settling)
        self._acked.update(singles)
        return top, singles

    @property
    def unacked(self) -> int:
        return len(self._open)
