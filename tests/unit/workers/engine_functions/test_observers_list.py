"""``engine::observers::list``: observers with their state and fires, filtered by source; an
RBAC session sees only its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyiii.core import Host
from pyiii.core.access import Access
from pyiii.core.engine import Engine
from pyiii.core.functions import CallContext
from pyiii.workers.base import WorkerContext
from pyiii.workers.engine_functions.worker import EngineFunctionsWorker
from tests.support.fake_peer import FakePeer


async def echo(data: Any, ctx: CallContext) -> Any:
    return data


async def test_lists_observers_by_source_and_hides_others_from_a_session(tmp_path: Path) -> None:
    engine = Engine()
    await EngineFunctionsWorker(Host(engine), None, "iii-engine-functions", WorkerContext(tmp_path, tmp_path)).start()
    engine.register_function("a::src", echo)
    engine.register_function("a::sink", echo)
    watcher = await FakePeer.connect(engine, "w")
    watcher.metadata.name = "alerts"
    for oid, source in (("o1", "a::src"), ("o2", "a::sink")):
        await watcher.send({"type": "observe", "id": oid, "source": {"function_id": source},
                            "target": {"function_id": "a::sink"}})
    await engine.call("a::src", {"n": 1})
    listed = await engine.call("engine::observers::list", {"function_id": "a::src"})
    row = listed["observers"][0]
    assert [r["id"] for r in listed["observers"]] == ["o1"]
    assert row["state"] == "active" and row["worker_name"] == "alerts" and row["worker_id"] == "w"
    assert row["source"] == {"function_id": "a::src", "namespace": "default"}
    assert row["target"]["function_id"] == "a::sink"
    assert row["fires"] == 1
    assert len((await engine.call("engine::observers::list", None))["observers"]) == 2
    session = await FakePeer.connect(engine, "s", access=Access(rbac=True, allowed_functions=frozenset(
        {"engine::observers::list"})))
    await session.invoke("engine::observers::list", {}, invocation_id="i1")
    assert (await session.next_result("i1"))["result"] == {"observers": []}
