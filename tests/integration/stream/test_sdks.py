"""The official Node SDK and pyiii.sdk call every state and stream function."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess, free_port
from tests.support.node_sdk import node_sdk_dir

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    memory = {"name": "kv", "config": {"store_method": "in_memory"}}
    proc = EngineProcess(tmp_path_factory.mktemp("sdks"), workers=[
        {"name": "iii-state", "config": {"adapter": memory}},
        {"name": "iii-stream", "config": {"adapter": memory, "port": free_port(), "host": "127.0.0.1"}},
    ]).start()
    yield proc
    proc.stop()


def test_node_sdk_calls_every_function(engine: EngineProcess) -> None:
    sdk_dir = node_sdk_dir()
    done = subprocess.run(["node", str(HERE / "node_client.mjs"), engine.url, uuid.uuid4().hex[:8]],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NODE_SDK_DIR": str(sdk_dir)})
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["state_set"] == {"old_value": None, "new_value": {"n": 1}}
    assert out["state_get"] == {"n": 1}
    assert out["state_update"] == {"old_value": {"n": 1}, "new_value": {"n": 3}}
    assert out["state_list"] == [{"n": 3}] and out["state_groups"] is True
    assert out["state_delete"] == {"n": 3}
    assert out["stream_set"] == {"old_value": None, "new_value": {"v": 1}}
    assert out["stream_get"] == {"v": 1}
    assert out["stream_update"]["new_value"] == {"v": 1, "w": 2}
    assert out["stream_list"] == [{"v": 1, "w": 2}] and out["stream_groups"] == ["g"]
    assert out["stream_send"] is None
    assert out["stream_delete"] == {"old_value": {"v": 1, "w": 2}}
    assert out["bad_op"] == "deserialization_error"


async def test_pyiii_sdk_calls_every_function(engine: EngineProcess) -> None:
    sdk = pytest.importorskip("pyiii.sdk")
    if not hasattr(sdk, "register_worker"):
        pytest.skip("pyiii.sdk has no register_worker yet")
    worker = sdk.register_worker(engine.url, sdk.InitOptions(worker_name="pyiii-sdk-test"))
    scope, name = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"

    async def call(function_id: str, payload: object) -> object:
        return await worker.trigger_async({"function_id": function_id, "payload": payload})

    try:
        assert await call("state::set", {"scope": scope, "key": "k", "value": 1}) == {"old_value": None, "new_value": 1}
        assert await call("state::get", {"scope": scope, "key": "k"}) == 1
        assert (await call("state::update", {"scope": scope, "key": "k", "ops": [
            {"type": "increment", "path": "", "by": 1}]}))["new_value"] == 2  # type: ignore[index]
        assert await call("state::list", {"scope": scope}) == [2]
        assert scope in (await call("state::list_groups", {}))["groups"]  # type: ignore[index]
        assert await call("state::delete", {"scope": scope, "key": "k"}) == 2
        item = {"stream_name": name, "group_id": "g", "item_id": "i"}
        assert (await call("stream::set", {**item, "data": 1}))["new_value"] == 1  # type: ignore[index]
        assert await call("stream::get", item) == 1
        assert (await call("stream::update", {**item, "ops": [{"type": "increment", "path": "", "by": 1}]}))[
            "new_value"] == 2  # type: ignore[index]
        assert await call("stream::list", {"stream_name": name, "group_id": "g"}) == [2]
        assert await call("stream::list_groups", {"stream_name": name}) == ["g"]
        assert await call("stream::send", {"stream_name": name, "group_id": "g", "type": "t", "data": 0}) is None
        assert await call("stream::delete", item) == {"old_value": 2}
    finally:
        result = worker.shutdown()
        if hasattr(result, "__await__"):
            await result


def test_browser_stream_client_module(engine: EngineProcess) -> None:
    sdk_dir = node_sdk_dir()
    ws_port = next(w["config"]["port"] for w in _workers(engine) if w["name"] == "iii-stream")
    name = f"browser-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        ["node", "--experimental-websocket", str(HERE / "browser_client_check.mjs"), engine.url,
         f"ws://127.0.0.1:{ws_port}/", name],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NODE_SDK_DIR": str(sdk_dir)})
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [s["type"] for s in out["seen"]] == ["sync", "create", "update", "delete"]
    assert out["seen"][0]["items"] == [{"id": "a", "n": 1}]
    assert out["seen"][2]["items"] == [{"id": "a", "n": 3}, {"id": "b", "n": 2}]
    assert out["seen"][3]["items"] == [{"id": "b", "n": 2}]
    assert out["item"] == {"id": "b", "n": 2}
    assert out["customs"] == [["hi", 7]]


def _workers(engine: EngineProcess) -> list[dict[str, object]]:
    import yaml

    doc = yaml.safe_load(engine.config_path.read_text())
    return list(doc["workers"])
