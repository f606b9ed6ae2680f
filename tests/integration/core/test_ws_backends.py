"""Both WebSocket backends end to end: an engine on each (``PYIII_WS_BACKEND``) serves
pyiii.sdk workers on each, and the official Python SDK (which brings its own websockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pyiii import InitOptions, register_worker
from pyiii.wsio.backend import BACKENDS, ENV_VAR
from tests.integration.state.kvsupport import call, sdk_worker
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually


@pytest.mark.parametrize("sdk_backend", BACKENDS)
@pytest.mark.parametrize("engine_backend", BACKENDS)
async def test_calls_round_trip_on_every_backend_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      engine_backend: str, sdk_backend: str) -> None:
    monkeypatch.setenv(ENV_VAR, engine_backend)
    proc = EngineProcess(tmp_path).start()
    try:
        await eventually(lambda: f"(WebSocket backend {engine_backend})" in proc.logs(), 5,
                         what=f"the listener to run on {engine_backend}")
        monkeypatch.setenv(ENV_VAR, sdk_backend)
        with register_worker(proc.url, InitOptions(worker_name="owner")) as owner:
            owner.register_function("wsb::echo", lambda data: {"echo": data, "size": len(data["blob"])})
            # Many TCP segments each way, under the official SDK's 1 MiB message limit.
            blob = "x" * (512 * 1024)

            with sdk_worker(proc.url, "official-caller") as official:
                got = await eventually(lambda: _try(official, {"blob": blob}), 10, 0.1, what="wsb::echo to answer")
            assert got["size"] == len(blob) and got["echo"]["blob"] == blob

            with register_worker(proc.url, InitOptions(worker_name="caller")) as caller:
                results = await asyncio.gather(*(
                    caller.trigger_async({"function_id": "wsb::echo", "payload": {"blob": str(i)}})
                    for i in range(200)))
                big = "y" * (3 * 1024 * 1024)  # over websockets' 1 MiB default: our limit is 64 MiB
                reply = await caller.trigger_async({"function_id": "wsb::echo", "payload": {"blob": big}})
            assert [r["echo"]["blob"] for r in results] == [str(i) for i in range(200)]
            assert reply["size"] == len(big) and reply["echo"]["blob"] == big
    finally:
        proc.stop()


def _try(worker: object, payload: dict[str, str]) -> dict[str, object] | None:
    try:
        result = call(worker, "wsb::echo", payload)
    except Exception:  # not registered yet
        return None
    return result if isinstance(result, dict) else None
