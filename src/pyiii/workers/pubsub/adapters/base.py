"""Pub/sub transports: where a publish goes before it reaches this engine's subscribers."""

from __future__ import annotations

import abc
from collections.abc import Callable

#: ``deliver(topic, json_bytes, traceparent, baggage)``: hand a published message to this
#: engine's subscribers, with the publisher's trace context when the transport carries it.
Deliver = Callable[[str, bytes, str | None, str | None], None]


class PubsubAdapter(abc.ABC):
    #: Set by transports that depend on a server (``redis``): listed in ``/readyz``.
    remote_kind: str | None = None

    @abc.abstractmethod
    async def start(self, deliver: Deliver) -> None: ...

    @abc.abstractmethod
    async def publish(self, topic: str, body: bytes, traceparent: str | None = None,
                      baggage: str | None = None) -> None:
        """Send ``body``; transports that cannot carry the trace context drop it."""

    @abc.abstractmethod
    async def subscribe(self, topic: str) -> None:
        """This engine has a first subscriber of ``topic``."""

    @abc.abstractmethod
    async def unsubscribe(self, topic: str) -> None:
        """This engine's last subscriber of ``topic`` left."""

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        """Raise when the transport cannot serve now (``/readyz``). In-process always can."""
        return None
