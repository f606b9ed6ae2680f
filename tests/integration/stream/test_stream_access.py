"""auth_function refusing connections and passing context; stream:join refusing joins;
stream:leave; a slow subscriber closed with 1013; a worker providing its own stream storage."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.state.kvsupport import call, sdk_worker, unique
from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port


@dataclass
class Setup:
    worker: Any
    ws_port: int
    engine_url: str
    joins: queue.Queue[dict[str, Any]]
    leaves: queue.Queue[dict[str, Any]]


def authenticate(request: dict[str, Any]) -> Any:
    token = request["query_params"].get("token", [""])[0]
    if token == "crash":
        raise RuntimeError("auth backend down")
    if token == "no":
        return {"unauthorized": True}
    if token == "false":
        return False
    return {"context": {"user": token, "ua": request["headers"].get("x-test")}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    ws_port = free_port()
    config = {"port": ws_port, "host": "127.0.0.1", "auth_function": "test::auth",
              "adapter": {"name": "kv", "config": {"store_method": "in_memory"}},
              "subscriber_buffer_bytes": 256 * 1024}
    proc = EngineProcess(tmp_path_factory.mktemp("access"), workers=[{"name": "iii-stream", "config": config}]).start()
    joins: queue.Queue[dict[str, Any]] = queue.Queue()
    leaves: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_join(event: dict[str, Any]) -> Any:
        joins.put(event)
        return {"unauthorized": event["group_id"] == "secret"}

    try:
        with sdk_worker(proc.url) as w:
            w.register_function("test::auth", authenticate)
            w.register_function("test::join", on_join)
            w.register_function("test::leave", lambda event: leaves.put(event))
            w.register_trigger({"type": "stream:join", "function_id": "test::join", "config": {}})
            w.register_trigger({"type": "stream:leave", "function_id": "test::leave", "config": {}})
            call(w, "engine::functions::list", {})
            yield Setup(w, ws_port, proc.url, joins, leaves)
    finally:
        proc.stop()


@pytest.mark.parametrize("token", ["no", "false", "crash"])
async def test_auth_function_refuses_with_http_401(setup: Setup, token: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        await _open(setup.ws_port, f"/?token={token}")
    assert info.value.response.status_code == 401


async def _open(port: int, path: str, **kwargs: Any) -> StreamClient:
    from websockets.asyncio.client import connect

    return StreamClient(await connect(f"ws://127.0.0.1:{port}{path}", **kwargs))


async def test_context_reaches_join_and_leave_and_join_can_be_refused(setup: Setup) -> None:
    client = await _open(setup.ws_port, "/?token=alice", additional_headers={"X-Test": "t1"})
    name = unique("chat")
    try:
        await client.join("ok", name, "open")
        assert (await client.next())["event"]["type"] == "sync"
        joined = await asyncio.to_thread(setup.joins.get, True, 10)
        assert joined == {"subscription_id": "ok", "stream_name": name, "group_id": "open", "id": None,
                          "context": {"user": "alice", "ua": "t1"}}
        await client.join("no", name, "secret")
        refused = await client.next()
        assert refused["event"] == {"type": "unauthorized"} and refused["groupId"] == "secret"
        await asyncio.to_thread(setup.joins.get, True, 10)
        # a refused join receives nothing from that group
        await asyncio.to_thread(call, setup.worker, "stream::set",
                                {"stream_name": name, "group_id": "secret", "item_id": "x", "data": 1})
        await asyncio.to_thread(call, setup.worker, "stream::set",
                                {"stream_name": name, "group_id": "open", "item_id": "x", "data": 2})
        assert (await client.next())["groupId"] == "open"
    finally:
        await client.close()
    left = await asyncio.to_thread(setup.leaves.get, True, 10)
    assert left["subscription_id"] == "ok" and left["context"] == {"user": "alice", "ua": "t1"}


async def test_slow_subscriber_is_closed_with_1013(setup: Setup) -> None:
    name = unique("firehose")
    slow = await _open(setup.ws_port, "/?token=slow", max_size=None)
    fast = await _open(setup.ws_port, "/?token=fast")
    try:
        await slow.join("s", name, "g")
        await fast.join("f", name, "g")
        assert (await slow.next())["event"]["type"] == "sync"
        assert (await fast.next())["event"]["type"] == "sync"
        slow.connection.transport.pause_reading()  # stop reading: the kernel buffers fill, then the engine's
        blob = "x" * 64 * 1024

        def flood() -> None:
            for _i in range(200):
                call(setup.worker, "stream::send", {"stream_name": name, "group_id": "g", "type": "blob", "data": blob})

        flooding = asyncio.create_task(asyncio.to_thread(flood))
        received = 0
        while received < 200:  # the fast client keeps receiving everything
            event = await fast.next()
            received += event["event"]["type"] == "event"
        await flooding
        slow.connection.transport.resume_reading()
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await slow.next()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1013
        assert "too slow" in info.value.rcvd.reason
    finally:
        await slow.close()
        await fast.close()


def test_unknown_path_is_404(setup: Setup) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{setup.ws_port}/stream/a/b/", timeout=5)
    assert info.value.code == 404


class MemoryStream:
    """A worker-provided stream back-end (what iii.helpers.create_stream registers)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}

    async def get(self, input: Any) -> Any:
        return self.items.get((input.group_id, input.item_id))

    async def set(self, input: Any) -> Any:
        from iii_helpers.stream import StreamSetResult

        old = self.items.get((input.group_id, input.item_id))
        self.items[(input.group_id, input.item_id)] = input.data
        return StreamSetResult(old_value=old, new_value=input.data)

    async def delete(self, input: Any) -> Any:
        from iii_helpers.stream import StreamDeleteResult

        return StreamDeleteResult(old_value=self.items.pop((input.group_id, input.item_id), None))

    async def list(self, input: Any) -> list[Any]:
        return [v for (g, _), v in self.items.items() if g == input.group_id]

    async def list_groups(self, input: Any) -> list[str]:
        return sorted({g for g, _ in self.items})

    async def update(self, input: Any) -> Any:
        raise NotImplementedError


async def test_worker_provided_stream_storage(setup: Setup) -> None:
    from iii.helpers import create_stream

    name = unique("custom")
    backend = MemoryStream()
    with sdk_worker(setup.engine_url, "custom-stream") as owner:
        create_stream(owner, name, backend)  # type: ignore[arg-type]
        call(owner, "engine::functions::list", {})
        client = await _open(setup.ws_port, "/?token=c")
        try:
            await client.join("c", name, "g")
            assert (await client.next())["event"] == {"type": "sync", "data": []}
            base = {"stream_name": name, "group_id": "g", "item_id": "i"}
            w = setup.worker
            assert await asyncio.to_thread(call, w, "stream::set", {**base, "data": {"n": 1}}) == {
                "old_value": None, "new_value": {"n": 1}}
            assert backend.items == {("g", "i"): {"n": 1}}
            updated = await asyncio.to_thread(call, w, "stream::update", {**base, "ops": [
                {"type": "increment", "path": "n", "by": 1}]})
            assert updated["new_value"] == {"n": 2} and backend.items[("g", "i")] == {"n": 2}
            listed = await asyncio.to_thread(call, w, "stream::list", {"stream_name": name, "group_id": "g"})
            assert listed == [{"n": 2}]
            assert await asyncio.to_thread(call, w, "stream::list_groups", {"stream_name": name}) == ["g"]
            assert await asyncio.to_thread(call, w, "stream::delete", base) == {"old_value": {"n": 2}}
            kinds = [(await client.next())["event"]["type"] for _ in range(3)]
            assert kinds == ["create", "update", "delete"]
        finally:
            await client.close()
