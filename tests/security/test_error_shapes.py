"""Attack: a worker answers a call with a malformed error so that its caller sees a success.

Every error that reaches a caller must carry a non-empty ``code`` and ``message`` (iii-sdk
resolves a falsy ``error`` such as ``{}`` as a success with ``None``). Whatever the worker gave
is kept; what is missing is filled with ``UNKNOWN`` / the original text of the error.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker, wait_function

os.environ["OTEL_ENABLED"] = "false"

#: (what the worker sends as ``error``, include function_id?) -> the code / message the caller gets
CASES: list[tuple[Any, bool, str, str]] = [
    ({"detail": "boom"}, False, "UNKNOWN", '{"detail":"boom"}'),
    ({"detail": "boom"}, True, "UNKNOWN", '{"detail":"boom"}'),
    ({}, True, "UNKNOWN", "{}"),
    ("boom", False, "UNKNOWN", "boom"),
    (42, True, "UNKNOWN", "42"),
    ({"code": "E_PAY", "stacktrace": "at x"}, True, "E_PAY", '{"code":"E_PAY","stacktrace":"at x"}'),
    ({"message": "no code"}, False, "UNKNOWN", "no code"),
    ({"code": "", "message": ""}, True, "UNKNOWN", '{"code":"","message":""}'),
]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[EngineProcess]:
    proc = EngineProcess(tmp_path).start()
    try:
        yield proc
    finally:
        proc.stop()


async def _bad_owner(engine: EngineProcess, function_id: str, error: Any, with_fid: bool) -> RawWorker:
    """A worker that answers every call of ``function_id`` with ``error``."""
    owner = await RawWorker.connect(engine.url)
    await owner.register(function_id)

    async def serve() -> None:
        while True:
            call = await owner.expect("invokefunction", timeout=3600)
            reply: dict[str, Any] = {"type": "invocationresult", "invocation_id": call["invocation_id"],
                                     "error": error}
            if with_fid:
                reply["function_id"] = call["function_id"]
            await owner.ws.send(json.dumps(reply, separators=(",", ":")))

    owner.serving = asyncio.ensure_future(serve())  # type: ignore[attr-defined]
    return owner


@pytest.mark.parametrize(("error", "with_fid", "code", "message"), CASES)
async def test_malformed_worker_error_reaches_raw_caller_typed(
    engine: EngineProcess, error: Any, with_fid: bool, code: str, message: str
) -> None:
    fid = f"bad::{uuid.uuid4().hex[:8]}"
    owner = await _bad_owner(engine, fid, error, with_fid)
    caller = await RawWorker.connect(engine.url)
    try:
        await wait_function(caller, fid)
        reply = await caller.call(fid, {"x": 1}, timeout=5)
        body = reply["error"]
        assert body["code"] == code and body["message"] == message, body
        if isinstance(error, dict):  # what the worker gave is kept
            for key, value in error.items():
                if key not in ("code", "message") or value:
                    assert body[key] == value, body
    finally:
        await caller.close()
        await owner.close()


async def test_official_python_sdk_raises_on_an_error_without_code(engine: EngineProcess) -> None:
    iii = pytest.importorskip("iii")
    from iii import InitOptions

    fid = f"bad::{uuid.uuid4().hex[:8]}"
    owner = await _bad_owner(engine, fid, {"detail": "boom"}, False)
    probe = await RawWorker.connect(engine.url)
    client = await asyncio.to_thread(
        iii.register_worker, engine.url,
        InitOptions(worker_name="sdk-caller", enable_metrics_reporting=False, otel={"enabled": False}),
    )
    try:
        await wait_function(probe, fid)
        with pytest.raises(iii.InvocationError) as info:
            await asyncio.to_thread(client.trigger, {"function_id": fid, "payload": {"x": 1}, "timeout_ms": 5000})
        assert info.value.code == "UNKNOWN"
        assert "boom" in info.value.message
    finally:
        await asyncio.to_thread(client.shutdown)
        await probe.close()
        await owner.close()
