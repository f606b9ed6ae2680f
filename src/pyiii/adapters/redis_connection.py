"""Every Redis client pyiii opens (kv store and its change bus, queue, pub/sub, cron locks,
cluster) comes from :func:`redis_client`, with one connection policy:

* **One pool per caller, bounded.** ``max_connections`` (each adapter's config key, with its own
  default) caps the pool. At the cap a command *waits* up to ``pool_timeout_ms`` for a connection
  to come back instead of failing at once (redis-py's own pool raises "Too many connections"),
  so a burst of commands is slowed, not refused; after the wait it gets a ConnectionError that
  says which limit to raise. Callers do not share a pool: blocking reads (XREADGROUP BLOCK,
  BRPOP) and pub/sub subscriptions hold a connection for their whole wait, and one worker's
  waits must not use up another's connections.
* **Dead connections are found by the socket, not by PING.** TCP keepalive (probes after 30 s
  idle, every 10 s, 3 misses) turns a peer that vanished without a FIN into a socket error, which
  the pool's check of an idle connection before reuse turns into a reconnect, and a blocked read
  into an error its loop recovers from (the pub/sub readers resubscribe). redis-py's
  ``health_check_interval`` is left off: its PING recovers a connection only together with
  command retries.
* **No command retries.** A command whose reply was lost may have run: resending an XADD, a
  ``SET NX`` (cron tick lock) or a compare-and-set script (kv update) would duplicate a message,
  lose a tick or apply an update twice. A failed command fails, and each caller recovers at its
  own level (a queue lease lapses, a consumer receives again, a caller gets the error). Pinned
  here so that redis-py >= 6, which retries by default, does not change this.
* Replies are bytes unless a caller asks for ``decode_responses``.
* A URL redis-py cannot use, or limits out of range, raise :class:`RedisUrlError` naming the
  caller and the URL (without credentials), when the client is built, before anything connects.
  The config structs run the same check (:mod:`.redis_settings`) when config.yaml is read, so a
  user sees it with its line.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from pyiii.adapters.redis_settings import check_redis_settings
from pyiii.urls import without_credentials

DEFAULT_POOL_TIMEOUT_MS = 5_000

#: TCP keepalive: first probe after 30 s idle, then every 10 s; 3 unanswered probes close it.
_KEEPALIVE = {name: value for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPALIVE", 30), ("TCP_KEEPINTVL", 10),
                                              ("TCP_KEEPCNT", 3)) if hasattr(socket, name)}


class RedisUrlError(ValueError):
    """Redis settings a client cannot be built with: a ``redis_url`` redis-py cannot use (wrong
    scheme, bad port, bad query option) or pool limits out of range."""


class WaitingConnectionPool(ConnectionPool):
    """redis-py's pool, but at ``max_connections`` a command waits for a released connection
    (up to ``pool_timeout_s``) instead of failing. Below the cap nothing changes (no lock on the
    hot path)."""

    def __init__(self, *, pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_MS / 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_timeout_s = pool_timeout_s
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _full(self) -> bool:
        return not self._available_connections and len(self._in_use_connections) >= self.max_connections

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if self._full():
            await self._wait_for_a_connection()
        return await super().get_connection(command_name, *keys, **options)  # type: ignore[no-untyped-call]

    async def _wait_for_a_connection(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.pool_timeout_s
        while self._full():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RedisConnectionError(
                    f"all {self.max_connections} Redis connections stayed busy for {self.pool_timeout_s:g} s "
                    "(raise max_connections or pool_timeout_ms in the adapter config)")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                continue  # the loop condition decides: free now, or the error above
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: hand the connection to the next one
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def release(self, connection: Any) -> None:
        await super().release(connection)
        if self._waiters:
            self._wake_one()


def redis_client(url: str, *, max_connections: int, pool_timeout_ms: int = DEFAULT_POOL_TIMEOUT_MS,
                 decode_responses: bool = False, owner: str = "redis") -> Redis:
    """A client for ``url`` with its own pool (the policy above). ``owner`` names the caller in
    errors (``iii-queue adapter redis``...). Nothing connects until the first command."""
    try:
        check_redis_settings(url, max_connections, pool_timeout_ms)
    except ValueError as exc:
        raise RedisUrlError(f"{owner}: {exc}") from None
    options: dict[str, Any] = {
        "max_connections": max_connections,
        "pool_timeout_s": pool_timeout_ms / 1000,
        "decode_responses": decode_responses,
        "retry": Retry(NoBackoff(), 0),
        "retry_on_error": [],
        "health_check_interval": 0,
    }
    if not url.startswith("unix:"):  # keepalive is a TCP option (a unix socket connection rejects it)
        options["socket_keepalive"] = True
        options["socket_keepalive_options"] = {getattr(socket, name): value for name, value in _KEEPALIVE.items()}
    try:
        pool = WaitingConnectionPool.from_url(url, **options)
    except ValueError as exc:
        raise RedisUrlError(f"{owner}: redis_url {without_credentials(url)!r}: {exc}") from None
    return Redis.from_pool(pool)
