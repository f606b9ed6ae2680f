"""Calls between the official SDKs (Python, Node) and pyiii.sdk through a real engine process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import ENGINE_ERRORS, SDKS, uid, until_registered
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop

PAIRS = [(owner, caller) for owner in SDKS for caller in SDKS]


@pytest.mark.parametrize(("owner_kind", "caller_kind"), PAIRS, ids=[f"{o}-owner-{c}-caller" for o, c in PAIRS])
async def test_sync_call_between_sdks(
    shared_engine: EngineProcess, any_worker: Any, owner_kind: str, caller_kind: str
) -> None:
    """A sync call returns the owner's result; the owner sees the payload with the engine-injected
    ``_caller_worker_id`` of the caller and the metadata sidecar as a separate argument."""
    owner = await any_worker(owner_kind, shared_engine.url)
    caller = await any_worker(caller_kind, shared_engine.url)
    fid = uid(f"interop::{owner_kind}-echo")
    await owner.register_function(fid, "echo")
    await until_registered(caller, fid)

    result = await caller.trigger(fid, {"n": 1, "text": "héllo"}, metadata={"trace": "m-1", "n": 2})

    assert result["runtime"] == owner.label
    assert result["data"]["n"] == 1
    assert result["data"]["text"] == "héllo"
    assert result["data"]["_caller_worker_id"] == caller.worker_id
    assert result["metadata"] == {"trace": "m-1", "n": 2}


@pytest.mark.parametrize(
    ("owner_kind", "caller_kind"), [("official", "node"), ("node", "official"), ("pyiii", "node"), ("node", "pyiii")]
)
async def test_non_object_payload_is_not_augmented(
    shared_engine: EngineProcess, any_worker: Any, owner_kind: str, caller_kind: str
) -> None:
    owner = await any_worker(owner_kind, shared_engine.url)
    caller = await any_worker(caller_kind, shared_engine.url)
    fid = uid("interop::list-echo")
    await owner.register_function(fid, "echo")
    await until_registered(caller, fid)

    result = await caller.trigger(fid, [1, "two", {"three": 3}])
    assert result["data"] == [1, "two", {"three": 3}]
    assert result["metadata"] is None


@pytest.mark.parametrize(
    ("owner_kind", "caller_kind"),
    [("official", "node"), ("node", "official"), ("pyiii", "official"), ("official", "pyiii")],
)
async def test_handler_error_reaches_the_caller(
    shared_engine: EngineProcess, any_worker: Any, owner_kind: str, caller_kind: str
) -> None:
    owner = await any_worker(owner_kind, shared_engine.url)
    caller = await any_worker(caller_kind, shared_engine.url)
    fid = uid("interop::fails")
    await owner.register_function(fid, "fail")
    await until_registered(caller, fid)

    with pytest.raises(Exception) as info:
        await caller.trigger(fid, {"x": 1})
    assert getattr(info.value, "code", None) == "invocation_failed", info.value
    assert "handler failed" in str(info.value)


@pytest.mark.parametrize("caller_kind", SDKS)
async def test_unknown_function_is_function_not_found(
    shared_engine: EngineProcess, any_worker: Any, caller_kind: str
) -> None:
    caller = await any_worker(caller_kind, shared_engine.url)
    with pytest.raises(Exception) as info:
        await caller.trigger(uid("interop::nobody"), {})
    assert getattr(info.value, "code", None) == "function_not_found", info.value


@pytest.mark.parametrize(
    ("owner_kind", "caller_kind"),
    [
        ("official", "node"),
        ("node", "official"),
        ("pyiii", "node"),
        ("node", "pyiii"),
        ("official", "pyiii"),
        ("pyiii", "official"),
    ],
)
async def test_void_call_reaches_the_target(
    shared_engine: EngineProcess, any_worker: Any, tmp_path: Path, owner_kind: str, caller_kind: str
) -> None:
    """A void call returns nothing to the caller, but the target runs: it appends the payload
    and the metadata sidecar to a file."""
    owner = await any_worker(owner_kind, shared_engine.url)
    caller = await any_worker(caller_kind, shared_engine.url)
    fid = uid("interop::record")
    record = tmp_path / "record.jsonl"
    await owner.register_function(fid, "record", path=str(record))
    await until_registered(caller, fid)

    assert await caller.trigger(fid, {"seq": 1}, action={"type": "void"}, metadata={"via": "void"}) is None
    assert await caller.trigger(fid, {"seq": 2}, action={"type": "void"}) is None

    def lines() -> list[dict[str, Any]]:
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]

    async def both() -> list[dict[str, Any]] | None:
        got = lines()
        return got if len(got) == 2 else None

    ran = await eventually(both, what="both void calls to run", retry_on=ENGINE_ERRORS)
    got = sorted(ran, key=lambda r: r["data"]["seq"])
    assert got[0]["data"]["seq"] == 1
    assert got[0]["data"]["_caller_worker_id"] == caller.worker_id
    assert got[0]["metadata"] == {"via": "void"}
    assert got[1]["data"]["seq"] == 2


async def test_owner_calls_back_into_the_caller(shared_engine: EngineProcess, any_worker: Any) -> None:
    """Node handler that calls a Python function while the Python caller waits on the Node call."""
    py = await any_worker("official", shared_engine.url)
    node = await any_worker("node", shared_engine.url)
    py_fid, node_fid = uid("interop::py-echo"), uid("interop::node-call")
    await py.register_function(py_fid, "echo")
    await node.register_function(node_fid, "call")
    await until_registered(py, py_fid, node_fid)

    result = await py.trigger(node_fid, {"target": py_fid, "payload": {"deep": True}})
    assert result["runtime"] == "official"
    assert result["data"]["deep"] is True
    # The inner call was made by the Node worker.
    assert result["data"]["_caller_worker_id"] == node.worker_id
