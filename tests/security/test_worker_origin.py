"""A web page may not drive the worker port (issue 16 item 11): a WebSocket handshake carrying a
browser ``Origin`` is refused (403) on a trusted listener unless listed in ``allowed_origins``;
SDK clients send no Origin and keep working; RBAC listeners (meant for browsers) accept any
origin unless ``allowed_origins`` is given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import stays
from tests.support.wire import RawWorker

EVIL = "http://evil.example"


class Ports:
    def __init__(self, engine: EngineProcess, listed: int, rbac: int, rbac_listed: int) -> None:
        self.engine, self.listed, self.rbac, self.rbac_listed = engine, listed, rbac, rbac_listed


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> Any:
    listed, rbac, rbac_listed = free_port(), free_port(), free_port()
    workers = [
        {"name": "iii-worker-manager", "config": {"port": listed, "allowed_origins": ["https://tools.example"]}},
        {"name": "iii-worker-manager", "config": {"port": rbac, "rbac": {"expose_functions": ['match("state::*")']}}},
        {"name": "iii-worker-manager", "config": {"port": rbac_listed, "allowed_origins": ["https://app.example"],
                                                  "rbac": {"expose_functions": ['match("state::*")']}}},
        {"name": "iii-state", "config": {"adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}},
    ]
    engine = EngineProcess(tmp_path_factory.mktemp("origin"), workers).start()
    try:
        yield Ports(engine, listed, rbac, rbac_listed)
    finally:
        engine.stop()


@pytest.fixture
async def sdk(ports: Ports) -> AsyncIterator[RawWorker]:
    client = await RawWorker.connect(ports.engine.url)  # no Origin, like every SDK
    yield client
    await client.close()


async def _refused(url: str, origin: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(url, origin=origin):  # type: ignore[arg-type]
            pass
    return info.value.response.status_code


async def _state_set_via(url: str, origin: str, key: str) -> None:
    client = await RawWorker.connect(url, headers={"Origin": origin})
    try:
        answer = await client.call("state::set", {"scope": "origin", "key": key, "value": 1})
        assert "error" not in answer or answer["error"] is None, answer
    finally:
        await client.close()


async def _no_state(sdk: RawWorker, key: str) -> None:
    async def absent() -> bool:
        answer = await sdk.call("state::get", {"scope": "origin", "key": key})
        return answer.get("result") is None
    await stays(absent, 0.3, what=f"state origin/{key} stays unset")


async def test_trusted_listener_refuses_a_browser_origin(ports: Ports, sdk: RawWorker) -> None:
    assert await _refused(ports.engine.url, EVIL) == 403
    # A page cannot do it even in one go: handshake, then state::set.
    with pytest.raises(InvalidStatus):
        await _state_set_via(ports.engine.url, EVIL, "evil")
    await _no_state(sdk, "evil")
    # The SDK (no Origin) is served as before.
    answer = await sdk.call("state::set", {"scope": "origin", "key": "sdk", "value": 1})
    assert answer.get("error") is None, answer


async def test_trusted_listener_accepts_only_listed_origins(ports: Ports) -> None:
    url = f"ws://127.0.0.1:{ports.listed}"
    await _state_set_via(url, "https://tools.example", "listed")
    await _state_set_via(url, "HTTPS://Tools.Example/", "listed-case")
    assert await _refused(url, EVIL) == 403


async def test_rbac_listener_accepts_any_origin_unless_a_list_is_given(ports: Ports) -> None:
    await _state_set_via(f"ws://127.0.0.1:{ports.rbac}", EVIL, "rbac-any")
    listed = f"ws://127.0.0.1:{ports.rbac_listed}"
    await _state_set_via(listed, "https://app.example", "rbac-listed")
    assert await _refused(listed, EVIL) == 403
