"""The cron tick locks: local (in process) and redis, each built in this process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from pyiii.workers.cron.adapters.base import TickLock
from tests.contracts.backends import REDIS_URL, apply_marks, require_redis, unique

#: Short enough for a test to see a lock expire.
TTL_MS = 300

#: shared  locks of two engines on one server exclude each other (one fire per tick across engines)
CAPABILITIES = {
    "local": frozenset[str](),
    "redis": frozenset({"shared"}),
}

#: (test, backend) -> why the backend breaks that property (each test a strict xfail there).
BROKEN: dict[tuple[str, str], str] = {}


@dataclass
class Backend:
    name: str
    factory: Callable[[], TickLock]
    made: list[TickLock] = field(default_factory=list)

    def open(self) -> TickLock:
        """A lock on this backend's storage (a second call: another engine on the same one)."""
        lock = self.factory()
        self.made.append(lock)
        return lock


def _factory(name: str) -> Callable[[], TickLock]:
    if name == "local":
        from pyiii.workers.cron.adapters.local import LocalTickLock

        return lambda: LocalTickLock(TTL_MS)
    require_redis()
    from pyiii.workers.cron.adapters.redis import RedisTickLock
    from pyiii.workers.cron.config import RedisLockConfig

    config = RedisLockConfig(redis_url=REDIS_URL, lock_ttl_ms=TTL_MS, key_prefix=unique("cron"))
    return lambda: RedisTickLock(config)


@pytest.fixture(params=sorted(CAPABILITIES))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    name: str = request.param
    apply_marks(request, name, CAPABILITIES[name], BROKEN)
    b = Backend(name, _factory(name))
    try:
        yield b
    finally:
        for lock in b.made:  # redis keys expire with the TTL: nothing else to clean
            with contextlib.suppress(Exception):
                await lock.close()


@pytest.fixture
def lock(backend: Backend) -> TickLock:
    return backend.open()
