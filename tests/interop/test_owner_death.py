"""An owner killed with -9 while a call waits: the caller gets ``invocation_stopped`` at once
(spec §3.11 step 2), not the SDK's 30 s timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.interop.conftest import NodeWorker, PyWorker, uid, until_registered
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.interop


async def test_node_owner_killed_official_python_caller(
    shared_engine: EngineProcess, py_worker: Any, node_worker: Any, node_process: Any
) -> None:
    owner_proc = node_process()
    owner: NodeWorker = await node_worker(shared_engine.url, driver=owner_proc)
    caller: PyWorker = await py_worker("official", shared_engine.url)
    fid = uid("death::node-hang")
    await owner.register_function(fid, "hang")
    await until_registered(caller, fid)

    call = asyncio.ensure_future(caller.trigger(fid, {"wait": True}))
    await owner_proc.wait_event(lambda e: e.get("event") == "invoked" and e["function_id"] == fid)
    killed_at = time.monotonic()
    owner_proc.kill()
    with pytest.raises(caller.invocation_error) as info:
        await asyncio.wait_for(call, 10)
    elapsed = time.monotonic() - killed_at
    assert info.value.code == "invocation_stopped"  # type: ignore[attr-defined]
    assert elapsed < 1.0, f"invocation_stopped took {elapsed:.2f}s"

    # The dead owner's function is gone.
    with pytest.raises(caller.invocation_error) as info:
        await caller.trigger(fid, {})
    assert info.value.code == "function_not_found"  # type: ignore[attr-defined]


@pytest.mark.parametrize("owner_kind", ["official", "pyiii"])
async def test_python_owner_killed_node_caller(
    shared_engine: EngineProcess, node_worker: Any, owner_process: Any, owner_kind: str
) -> None:
    fid = uid(f"death::{owner_kind}-hang")
    owner = owner_process(owner_kind, shared_engine.url, fid)
    caller: NodeWorker = await node_worker(shared_engine.url)
    await owner.wait_line("ready")
    await until_registered(caller, fid, timeout=20)

    call = asyncio.ensure_future(caller.trigger(fid, {"wait": True}))
    await owner.wait_line("invoked")
    killed_at = time.monotonic()
    owner.kill()
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(call, 10)
    elapsed = time.monotonic() - killed_at
    assert getattr(info.value, "code", None) == "invocation_stopped", info.value
    assert elapsed < 1.0, f"invocation_stopped took {elapsed:.2f}s"
