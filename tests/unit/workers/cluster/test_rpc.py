"""``cluster/rpc.py``: reading a request or reply list (no Redis: a fake with BRPOP / RPOP)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from pyiii.core import Host
from pyiii.core.engine import Engine
from pyiii.workers.cluster import rpc as rpc_module
from pyiii.workers.cluster.rpc import Reply, Rpc

_yield_once = asyncio.sleep  # the real one: a test below replaces asyncio.sleep


class ListRedis:
    """BRPOP / RPOP over in-memory lists; ``fail`` makes the next read raise."""

    def __init__(self, items: list[bytes]) -> None:
        self.items = items
        self.fail: Exception | None = None

    async def brpop(self, keys: list[str], timeout: float) -> tuple[bytes, bytes] | None:
        await _yield_once(0)  # a real BRPOP waits: let the loop run between reads
        if self.fail is not None:
            raise self.fail
        return (keys[0].encode(), self.items.pop()) if self.items else None

    async def rpop(self, key: str, count: int) -> list[bytes] | None:
        taken = [self.items.pop() for _ in range(min(count, len(self.items)))]
        return taken or None


def make_rpc(redis: ListRedis) -> Rpc:
    return Rpc(redis, Host(Engine()), "t", "e1", batch=10, key_ttl_ms=1000, is_proxy=lambda *_: False)


async def test_bodies_are_decoded_and_an_undecodable_one_dropped(caplog: pytest.LogCaptureFixture) -> None:
    redis = ListRedis([msgspec.json.encode(Reply(id="b")), b"{not json", msgspec.json.encode(Reply(id="a"))])
    decoded = await make_rpc(redis)._take_decoded("k", 1, msgspec.json.Decoder(Reply), "reply")
    assert [r.id for r in decoded] == ["a", "b"]
    assert "dropped an undecodable reply" in caplog.text


async def test_a_failed_read_pauses_and_answers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(rpc_module.asyncio, "sleep", pause)
    redis = ListRedis([msgspec.json.encode(Reply(id="a"))])
    redis.fail = ConnectionError("down")
    rpc = make_rpc(redis)
    assert await rpc._take_decoded("k", 1, msgspec.json.Decoder(Reply), "reply") == []
    assert pauses == [1]
    redis.fail = None
    assert [r.id for r in await rpc._take_decoded("k", 1, msgspec.json.Decoder(Reply), "reply")] == ["a"]


async def test_the_reply_loop_answers_the_waiting_caller() -> None:
    redis = ListRedis([msgspec.json.encode(Reply(id="r1", result=msgspec.Raw(b"7")))])
    rpc = make_rpc(redis)
    future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
    rpc._waiting["r1"] = ("e2", future)
    loop = asyncio.ensure_future(rpc.reply_loop())
    try:
        reply = await asyncio.wait_for(future, 5)
    finally:
        loop.cancel()
    assert bytes(reply.result) == b"7"

