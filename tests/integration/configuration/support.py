"""Helpers of the configuration tests: an engine whose configuration worker has a short TTL,
and raw-protocol calls that return a result or an error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.engine import EngineProcess
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

#: An environment variable the engine inherits, for ``${VAR}`` expansion.
ENV_NAME = "PYIII_CFG_TEST_PORT"
ENV_VALUE = "8080"
TTL_SECONDS = 1.0

PORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"port": {"type": "integer", "minimum": 1}, "host": {"type": "string"}},
    "required": ["port"],
    "additionalProperties": False,
}


def engine(workdir: Path, **config: Any) -> EngineProcess:
    block = {"ttl_seconds": TTL_SECONDS, **config}
    return EngineProcess(workdir, workers=[{"name": "configuration", "config": block}])


def unique(prefix: str = "cfg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def ok(client: RawWorker, function_id: str, data: Any) -> Any:
    frame = await client.call(function_id, data)
    assert "error" not in frame or frame["error"] is None, frame
    return frame.get("result")


async def err(client: RawWorker, function_id: str, data: Any) -> dict[str, Any]:
    frame = await client.call(function_id, data)
    assert frame.get("error"), frame
    error: dict[str, Any] = frame["error"]
    return error


async def register(client: RawWorker, config_id: str, initial: Any = None, **extra: Any) -> Any:
    payload = {"id": config_id, "name": f"Name of {config_id}", "description": "test entry",
               "schema": PORT_SCHEMA, **extra}
    if initial is not None:
        payload["initial_value"] = initial
    return await ok(client, "configuration::register", payload)


async def watch(client: RawWorker, function_id: str, config: dict[str, Any], trigger_id: str | None = None) -> str:
    """Register ``function_id`` and a ``configuration`` trigger for it; returns the trigger id."""
    trigger_id = trigger_id or str(uuid.uuid4())
    await client.register(function_id)
    await client.send({"type": "registertrigger", "id": trigger_id, "trigger_type": "configuration",
                       "function_id": function_id, "config": config})
    await client.call("engine::functions::list", {})  # a round trip: the frames above were handled
    return trigger_id


Answers = dict[str, Callable[[Any], Any]]


async def next_event(client: RawWorker, function_id: str, answers: Answers | None = None,
                     timeout: float = 5.0) -> Any:
    """The payload of the next invocation of ``function_id``. Every invocation on the way is
    answered (``answers[fid](payload)``, else ``null``) so that the engine never waits on us."""
    async with asyncio.timeout(timeout):
        while True:
            frame = await client.expect("invokefunction")
            fid = frame["function_id"]
            if frame.get("invocation_id"):
                result = (answers or {}).get(fid, lambda _d: None)(frame["data"])
                await client.send({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                   "function_id": fid, "result": result})
            if fid == function_id:
                return frame["data"]


async def no_event(client: RawWorker, function_id: str, answers: Answers | None = None, wait: float = 0.7) -> None:
    try:
        data = await next_event(client, function_id, answers, timeout=wait)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected event {data}")


async def eventually_missing(client: RawWorker, config_id: str, timeout: float = 10.0) -> None:
    """Wait until ``configuration::get`` answers an error for ``config_id`` (it was removed)."""

    async def missing() -> bool:
        return bool((await client.call("configuration::get", {"id": config_id})).get("error"))

    await eventually(missing, timeout, 0.1, what=f"configuration {config_id} to be gone")
