"""``engine::*`` introspection as seen by official SDK workers (spec §4.2-§4.8)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.interop.conftest import ENGINE_ERRORS, NodeWorker, PyWorker, function_ids, uid, until_registered
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop


async def test_lists_show_what_each_worker_registered(shared_engine: EngineProcess, any_worker: Any) -> None:
    py: PyWorker = await any_worker("official", shared_engine.url, uid("py-lister"))
    pyiii_w: PyWorker = await any_worker("pyiii", shared_engine.url, uid("pyiii-lister"))
    node: NodeWorker = await any_worker("node", shared_engine.url, uid("node-lister"))
    tag = uid("ls")
    py_ids = [f"{tag}::py-a", f"{tag}::py-b"]
    node_ids = [f"{tag}::node-a"]
    pyiii_ids = [f"{tag}::pyiii-a"]
    for fid in py_ids:
        await py.register_function(fid, "echo", description=f"python {fid}")
    await node.register_function(node_ids[0], "echo", description="node fn")
    await pyiii_w.register_function(pyiii_ids[0], "echo")
    await until_registered(node, *py_ids, *node_ids, *pyiii_ids)

    listing = await node.trigger("engine::functions::list", {"prefix": f"{tag}::"})
    rows = listing["functions"]
    assert [r["function_id"] for r in rows] == sorted(py_ids + node_ids + pyiii_ids)
    by_id = {r["function_id"]: r for r in rows}
    for fid in py_ids:
        assert by_id[fid]["worker_name"] == py.name
        assert by_id[fid]["description"] == f"python {fid}"
    assert by_id[node_ids[0]]["worker_name"] == node.name
    assert by_id[node_ids[0]]["description"] == "node fn"
    assert by_id[pyiii_ids[0]]["worker_name"] == pyiii_w.name

    # `worker` filter selects by worker name.
    only_py = await py.trigger("engine::functions::list", {"worker": py.name})
    assert [r["function_id"] for r in only_py["functions"]] == py_ids

    # Built-ins are hidden unless include_internal.
    assert not any(i.startswith("engine::") for i in await function_ids(py))
    assert "engine::functions::list" in await function_ids(py, include_internal=True)

    async def workers() -> dict[str, dict[str, Any]] | None:
        rows = (await py.trigger("engine::workers::list", {}))["workers"]
        named = {r["name"]: r for r in rows if r["name"] in (py.name, pyiii_w.name, node.name)}
        return named if len(named) == 3 and all(r["function_count"] > 0 for r in named.values()) else None

    named = await eventually(workers, what="worker metadata of all three workers", retry_on=ENGINE_ERRORS)
    assert named[py.name]["runtime"] == "python"
    assert named[pyiii_w.name]["runtime"] == "python"
    assert named[node.name]["runtime"] == "node"
    assert named[py.name]["id"] == py.worker_id
    assert named[node.name]["id"] == node.worker_id
    assert named[py.name]["function_count"] == 2
    assert named[node.name]["function_count"] == 1
    for row in named.values():
        assert row["status"] == "connected"
        assert row["ip_address"] == "127.0.0.1"
        assert set(row) >= {
            "name",
            "description",
            "version",
            "id",
            "runtime",
            "os",
            "status",
            "function_count",
            "connected_at_ms",
            "active_invocations",
            "isolation",
            "ip_address",
        }
    # Each connection appears exactly once.
    all_rows = (await py.trigger("engine::workers::list", {}))["workers"]
    ids = [r["id"] for r in all_rows]
    assert len(ids) == len(set(ids))
    assert any(r["runtime"] == "engine" and r["status"] == "available" for r in all_rows)

    runtime_node = (await py.trigger("engine::workers::list", {"runtime": "node"}))["workers"]
    assert node.name in [r["name"] for r in runtime_node]
    assert py.name not in [r["name"] for r in runtime_node]

    info = await node.trigger("engine::workers::info", {"name": py.name})
    assert info["worker"]["id"] == py.worker_id
    assert info["worker"]["internal"] is False
    assert isinstance(info["worker"]["pid"], int)
    assert [f["function_id"] for f in info["functions"]] == py_ids


async def test_function_info_trigger_lists_shapes(shared_engine: EngineProcess, any_worker: Any) -> None:
    py: PyWorker = await any_worker("official", shared_engine.url)
    node: NodeWorker = await any_worker("node", shared_engine.url)
    fid = uid("info::described")
    schema = {"type": "object", "properties": {"sku": {"type": "string"}}}

    async def handler(data: Any) -> Any:
        return data

    await asyncio.to_thread(
        py.client.register_function,
        fid,
        handler,
        description="Described",
        metadata={"public": True, "tier": "free"},
        request_format=schema,
        response_format={"type": "object"},
    )
    type_id = uid("info-type")
    await node.register_trigger_type(type_id, "An interop trigger type")
    await until_registered(node, fid)

    async def type_row() -> dict[str, Any] | None:
        rows = (await node.trigger("engine::triggers::list", {}))["triggers"]
        return next((r for r in rows if r["id"] == type_id), None)

    row = await eventually(type_row, what="trigger type listing", retry_on=ENGINE_ERRORS)
    assert row == {"id": type_id, "namespace": "default", "worker_name": node.name,
                   "description": "An interop trigger type"}
    # Engine trigger types are hidden unless include_internal.
    default_ids = [r["id"] for r in (await node.trigger("engine::triggers::list", {}))["triggers"]]
    assert "engine::workers-available" not in default_ids
    all_ids = [r["id"] for r in (await node.trigger("engine::triggers::list", {"include_internal": True}))["triggers"]]
    assert "engine::workers-available" in all_ids
    assert all_ids == sorted(all_ids)

    config = {"path": "/" + "x" * 100, "n": 1}
    await asyncio.to_thread(py.client.register_trigger, {"type": type_id, "function_id": fid, "config": config})
    await node.driver.wait_event(lambda e: e.get("event") == "register_trigger" and e["trigger"]["function_id"] == fid)

    rows = (await node.trigger("engine::registered-triggers::list", {"function_id": fid}))["registered_triggers"]
    assert len(rows) == 1
    binding = rows[0]
    # the reference's shape plus `namespace` (pyiii adds the target namespace: docs/compatibility.md)
    assert set(binding) == {"id", "trigger_type", "function_id", "namespace", "worker_name", "config",
                            "config_summary"}
    assert binding["namespace"] == "default"
    assert binding["trigger_type"] == type_id
    assert binding["function_id"] == fid
    assert binding["worker_name"] == py.name
    assert binding["config"] == config
    assert binding["config_summary"].endswith("…")
    assert len(binding["config_summary"]) == 81

    detail = await node.trigger("engine::functions::info", {"function_id": fid})
    assert detail["function_id"] == fid
    assert detail["worker_name"] == py.name
    assert detail["description"] == "Described"
    assert detail["metadata"] == {"public": True, "tier": "free"}
    assert detail["request_schema"] == schema
    assert detail["response_schema"] == {"type": "object"}
    assert detail["registered_triggers"] == [{"id": binding["id"], "trigger_type": type_id, "config": config}]

    missing = uid("info::missing")
    batch = await node.trigger("engine::functions::info", {"function_ids": [fid, missing, fid]})
    assert [f["function_id"] for f in batch["functions"]] == [fid, missing]
    assert batch["functions"][1] == {"function_id": missing, "error": "not_found"}

    with pytest.raises(Exception) as info:
        await py.trigger("engine::functions::info", {"function_id": missing})
    assert getattr(info.value, "code", None) == "NOT_FOUND"
    with pytest.raises(Exception) as info:
        await py.trigger("engine::functions::info", {})
    assert getattr(info.value, "code", None) == "INVALID_ARGUMENTS"

    type_info = await py.trigger("engine::triggers::info", {"id": type_id})
    assert type_info["id"] == type_id
    assert type_info["instance_count"] == 1

    binding_info = await py.trigger("engine::registered-triggers::info", {"id": binding["id"]})
    assert binding_info["function"]["function_id"] == fid
    assert binding_info["trigger"]["id"] == type_id
