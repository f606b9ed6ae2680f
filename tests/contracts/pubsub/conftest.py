"""The pub/sub transports: local (in process) and redis, each built in this process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from pyiii.workers.pubsub.adapters.base import PubsubAdapter
from tests.contracts.backends import REDIS_URL, apply_marks, require_redis, unique

#: shared        transports of two engines on one server deliver each other's publishes
#: trace_context the publisher's traceparent and baggage reach the subscriber
#: filters       only subscribed topics are delivered (local hands every publish to the worker,
#:               which has the subscribers and drops the rest)
CAPABILITIES = {
    "local": frozenset({"trace_context"}),
    "redis": frozenset({"shared", "filters"}),
}

#: (test, backend) -> why the backend breaks that property (each test a strict xfail there).
BROKEN: dict[tuple[str, str], str] = {}

Delivered = tuple[str, bytes, str | None, str | None]


@dataclass
class Engine:
    """One transport and what it delivered."""

    adapter: PubsubAdapter
    got: list[Delivered] = field(default_factory=list)

    def deliver(self, topic: str, body: bytes, traceparent: str | None, baggage: str | None) -> None:
        self.got.append((topic, bytes(body), traceparent, baggage))


@dataclass
class Backend:
    name: str
    prefix: str
    factory: Callable[[], PubsubAdapter]
    made: list[Engine] = field(default_factory=list)

    async def open(self) -> Engine:
        engine = Engine(self.factory())
        await engine.adapter.start(engine.deliver)
        self.made.append(engine)
        return engine


def _factory(name: str, prefix: str) -> Callable[[], PubsubAdapter]:
    if name == "local":
        from pyiii.workers.pubsub.adapters.local import LocalPubsub

        return LocalPubsub
    require_redis()
    from pyiii.workers.pubsub.adapters.redis import RedisPubsub
    from pyiii.workers.pubsub.config import RedisPubsubConfig

    return lambda: RedisPubsub(RedisPubsubConfig(redis_url=REDIS_URL, channel_prefix=prefix))


@pytest.fixture(params=sorted(CAPABILITIES))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    name: str = request.param
    apply_marks(request, name, CAPABILITIES[name], BROKEN)
    prefix = unique("pubsub") + ":"
    b = Backend(name, prefix, _factory(name, prefix))
    try:
        yield b
    finally:
        for engine in b.made:
            with contextlib.suppress(Exception):
                await engine.adapter.close()


@pytest.fixture
async def engine(backend: Backend) -> Engine:
    return await backend.open()
