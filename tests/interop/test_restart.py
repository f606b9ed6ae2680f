"""Engine restart on the same port: every SDK reconnects and re-registers exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import ENGINE_ERRORS, SDKS, uid, until_registered
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop


async def test_sdks_reconnect_after_engine_restart(tmp_path: Path, any_worker: Any) -> None:
    engine = EngineProcess(tmp_path).start()
    try:
        workers = {kind: await any_worker(kind, engine.url, uid(f"restart-{kind}")) for kind in SDKS}
        fids = {kind: uid(f"restart::{kind}") for kind in SDKS}
        for kind, w in workers.items():
            await w.register_function(fids[kind], "echo")
        probe = workers["official"]
        await until_registered(probe, *fids.values())
        old_ids = {kind: w.worker_id for kind, w in workers.items()}

        engine.stop()
        engine.start()

        # Every SDK must replay its registrations and its worker metadata on the new engine.
        async def all_back() -> dict[str, Any] | None:
            functions = (await probe.trigger("engine::functions::list", {}, timeout_ms=2000))["functions"]
            rows = (await probe.trigger("engine::workers::list", {}, timeout_ms=2000))["workers"]
            ids = Counter(r["function_id"] for r in functions)
            names = Counter(r["name"] for r in rows)
            # An SDK may replay its functions before its worker metadata (the official Python SDK
            # does): until the metadata lands, a function's worker_name falls back to its id prefix.
            owner_named = {r["function_id"]: r["worker_name"] for r in functions}
            named = all(owner_named.get(fids[k]) == workers[k].name for k in fids)
            if all(ids[f] for f in fids.values()) and all(names[w.name] for w in workers.values()) and named:
                return {"ids": ids, "names": names, "functions": functions, "workers": rows}
            return None

        state = await eventually(all_back, timeout=20, what="all three SDKs to re-register", retry_on=ENGINE_ERRORS)
        for kind, fid in fids.items():
            assert state["ids"][fid] == 1, f"{kind} function listed {state['ids'][fid]} times"
        for w in workers.values():
            assert state["names"][w.name] == 1, f"worker {w.name} listed {state['names'][w.name]} times"
        worker_name_of = {r["function_id"]: r["worker_name"] for r in state["functions"]}
        for kind, fid in fids.items():
            assert worker_name_of[fid] == workers[kind].name

        # Each function is callable again, from every other SDK; the new worker ids are used.
        for owner_kind, fid in fids.items():
            for caller_kind, caller in workers.items():
                result = await caller.trigger(fid, {"after": "restart"}, timeout_ms=5000)
                assert result["runtime"] == workers[owner_kind].label
                assert result["data"]["after"] == "restart"
                if owner_kind == caller_kind == "pyiii":
                    # pyiii.sdk (0.25's API) runs its own function in-process once the new engine
                    # confirmed it again (local dispatch): the engine never saw the call to stamp it.
                    assert "_caller_worker_id" not in result["data"]
                else:
                    assert result["data"]["_caller_worker_id"] != old_ids[caller_kind]
    finally:
        engine.stop()
