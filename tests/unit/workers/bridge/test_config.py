"""Config of the bridge adapters and the iii-bridge worker: defaults, limits, clear refusals."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from pyiii.adapters.bridge import UNAVAILABLE, BridgeAdapter, BridgeConfig, BridgeError, RemoteEngine
from pyiii.workers.bridge.config import IiiBridgeConfig
from pyiii.workers.queue.config import QueueWorkerConfig
from pyiii.workers.state.config import StateConfig
from pyiii.workers.stream.config import StreamConfig


def test_adapter_block_as_iii_spells_it() -> None:
    cfg = msgspec.convert({"adapter": {"name": "bridge", "config": {"bridge_url": "ws://b:49134"}}}, StateConfig)
    assert isinstance(cfg.adapter, BridgeAdapter) and cfg.adapter.config.bridge_url == "ws://b:49134"
    assert msgspec.convert({"adapter": {"name": "bridge"}}, StreamConfig).adapter == BridgeAdapter()
    assert BridgeConfig().bridge_url == "ws://localhost:49134"
    queue = msgspec.convert({"adapter": {"name": "bridge", "config": {"bridge_url": "ws://q:1"}}}, QueueWorkerConfig)
    assert queue.adapter.name == "bridge"


@pytest.mark.parametrize("config, message", [
    ({"bridge_url": "http://b:1"}, "ws:// or wss://"),
    ({"call_timeout_ms": 0}, "call_timeout_ms must be >= 1"),
    ({"max_watched_streams": 0}, "max_watched_streams must be >= 1"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_blocks_are_refused(config: dict[str, object], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert({"adapter": {"name": "bridge", "config": config}}, StateConfig)
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert({"adapter": {"name": "bridge", "config": config}}, QueueWorkerConfig)


def test_iii_bridge_url_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("III_URL", raising=False)
    assert IiiBridgeConfig().connection().bridge_url == "ws://0.0.0.0:49134"
    monkeypatch.setenv("III_URL", "ws://remote:7")
    assert IiiBridgeConfig().connection().bridge_url == "ws://remote:7"
    assert IiiBridgeConfig(url="ws://x:1").connection().bridge_url == "ws://x:1"
    cfg = msgspec.convert({"forward": [{"local_function": "a", "remote_function": "b", "timeout_ms": 5}],
                           "expose": [{"local_function": "c"}], "service_id": "s"}, IiiBridgeConfig)
    assert cfg.forward[0].timeout_ms == 5 and cfg.expose[0].remote_function is None
    with pytest.raises(msgspec.ValidationError, match="timeout_ms must be >= 1"):
        msgspec.convert({"forward": [{"local_function": "a", "remote_function": "b", "timeout_ms": 0}]},
                        IiiBridgeConfig)


def test_call_to_an_unreachable_engine_fails_typed_within_connect_timeout() -> None:
    async def run() -> None:
        from tests.support.engine import free_port

        remote = RemoteEngine(BridgeConfig(bridge_url=f"ws://127.0.0.1:{free_port()}", connect_timeout_ms=200,
                                           reconnect_initial_delay_ms=50), "t")
        remote.start()
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(BridgeError) as info:
                await remote.call("state::get", {"scope": "s", "key": "k"})
            assert info.value.code == UNAVAILABLE and loop.time() - started < 2
            with pytest.raises(BridgeError):
                await remote.ping()
        finally:
            await remote.close()

    asyncio.run(run())
