"""``adapters/redis_connection.py``: the one way pyiii builds a Redis client. The policy is read
back from the pool it builds (nothing connects); the waiting pool runs over connections that
need no server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from pyiii.adapters.redis_connection import RedisUrlError, WaitingConnectionPool, redis_client


def test_a_client_gets_a_bounded_pool_keepalive_and_no_command_retries() -> None:
    client = redis_client("redis://localhost:6379/2", max_connections=7, pool_timeout_ms=1500, owner="test")
    pool = client.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    assert (pool.max_connections, pool.pool_timeout_s) == (7, 1.5)
    kwargs = pool.connection_kwargs
    assert (kwargs["db"], kwargs["socket_keepalive"], kwargs["health_check_interval"]) == (2, True, 0)
    assert kwargs["decode_responses"] is False
    assert kwargs["socket_keepalive_options"].get(getattr(socket, "TCP_KEEPCNT", -1), 3) == 3
    connection = pool.make_connection()
    assert connection.retry._retries == 0  # a command whose reply was lost is never sent twice


def test_decoded_replies_are_asked_for_by_the_caller() -> None:
    client = redis_client("redis://localhost", max_connections=1, decode_responses=True)
    assert client.connection_pool.connection_kwargs["decode_responses"] is True


def test_a_unix_socket_gets_no_tcp_options() -> None:
    pool = redis_client("unix:///tmp/redis.sock", max_connections=1).connection_pool
    assert "socket_keepalive" not in pool.connection_kwargs
    pool.make_connection()  # a unix connection would reject TCP keepalive options here


@pytest.mark.parametrize("url", ["http://user:secret@host:6379", "redis://user:secret@host:notaport"])
def test_an_unusable_url_is_a_typed_error_naming_the_owner_without_credentials(url: str) -> None:
    with pytest.raises(RedisUrlError) as caught:
        redis_client(url, max_connections=4, owner="iii-queue adapter redis")
    assert str(caught.value).startswith("iii-queue adapter redis: redis_url ")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(("limits", "word"), [({"max_connections": 0}, "max_connections"),
                                              ({"max_connections": 1, "pool_timeout_ms": -1}, "pool_timeout_ms")])
def test_limits_out_of_range_are_refused(limits: dict[str, int], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        redis_client("redis://localhost", owner="x", **limits)


class FreeConnection:
    """Stands for a connected socket: the pool's reuse check finds nothing to read."""

    def __init__(self, **_: Any) -> None:
        pass

    async def connect(self) -> None:
        return None

    async def can_read_destructive(self) -> bool:
        return False

    async def disconnect(self) -> None:
        return None


def pool(size: int, timeout_s: float) -> WaitingConnectionPool:
    return WaitingConnectionPool(connection_class=FreeConnection, max_connections=size, pool_timeout_s=timeout_s)


async def test_at_the_cap_a_command_waits_for_a_released_connection() -> None:
    p = pool(1, 5.0)
    held = await p.get_connection("GET")
    waiting = asyncio.ensure_future(p.get_connection("GET"))
    await asyncio.sleep(0)  # let it reach the wait
    assert not waiting.done()
    await p.release(held)
    assert await asyncio.wait_for(waiting, 1) is held


async def test_waiters_are_served_in_arrival_order() -> None:
    p = pool(1, 5.0)
    held = await p.get_connection("GET")
    order: list[str] = []

    async def take(name: str) -> None:
        conn = await p.get_connection("GET")
        order.append(name)
        await p.release(conn)

    tasks = [asyncio.ensure_future(take(n)) for n in ("first", "second", "third")]
    await asyncio.sleep(0)
    await p.release(held)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert order == ["first", "second", "third"]


async def test_a_wait_past_pool_timeout_fails_with_an_error_naming_the_limits() -> None:
    p = pool(2, 0.05)
    await p.get_connection("GET")
    await p.get_connection("GET")
    with pytest.raises(RedisConnectionError, match=r"all 2 Redis connections stayed busy.*max_connections"):
        await p.get_connection("GET")


async def test_a_waiter_cancelled_after_its_wake_up_passes_the_connection_on() -> None:
    p = pool(1, 5.0)
    held = await p.get_connection("GET")
    first = asyncio.ensure_future(p.get_connection("GET"))
    second = asyncio.ensure_future(p.get_connection("GET"))
    await asyncio.sleep(0)
    await p.release(held)  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(second, 1) is held
