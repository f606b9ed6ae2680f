"""In-process pub/sub: a publish is delivered straight to this engine's subscribers."""

from __future__ import annotations

from pyiii.workers.pubsub.adapters.base import Deliver, PubsubAdapter


class LocalPubsub(PubsubAdapter):
    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, topic: str, body: bytes, traceparent: str | None = None,
                      baggage: str | None = None) -> None:
        assert self._deliver is not None
        self._deliver(topic, body, traceparent, baggage)

    async def subscribe(self, topic: str) -> None:
        return None

    async def unsubscribe(self, topic: str) -> None:
        return None
