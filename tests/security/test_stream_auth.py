"""Attack: a browser connects to the stream port although the auth function said no, failed or
never answered. Every denial shape, an error and a timeout must refuse the upgrade (401); only the
documented allow shapes admit. Also through a Steps project (`*_stream.py` ``authenticate``) and
Motia's ``motia_config.py`` ``authenticate_stream``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pyiii.steps.steps_runner import StepsRunner
from tests.integration.state.kvsupport import call, sdk_worker
from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port
from tests.support.project import write_project
from tests.support.wire import RawWorker, wait_function

AUTH_ID = "test::auth"
JOIN_ID = "test::join"
TIMEOUT_MS = 400

#: token -> what the auth function answers (a JSON result, or an error / no answer at all).
DENIALS: dict[str, Any] = {
    "false": False,
    "null": None,
    "authorized-false": {"authorized": False},
    "authorized-false-with-context": {"authorized": False, "context": {"user": "mallory"}},
    "unauthorized-true": {"unauthorized": True},
    "unauthorized-and-context": {"unauthorized": True, "context": {"user": "mallory"}},
    "authorized-string": {"authorized": "yes"},
    "string": "ok",
    "number": 1,
    "list": [True],
}
ALLOWS: dict[str, Any] = {
    "true": True,
    "context": {"context": {"user": "alice"}},
    "context-unset": {},  # the Python SDK's StreamAuthResult() (None fields dropped)
    "authorized-true": {"authorized": True},
    "authorized-true-with-context": {"authorized": True, "context": {"user": "alice"}},
}


#: A join handler may also say nothing (an observer); it must not block joins.
JOIN_ALLOWS: dict[str, Any] = {"join-null": None, "join-empty": {}, "join-unauthorized-false": {"unauthorized": False}}
JOIN_DENIALS = ["false", "authorized-false", "unauthorized-true", "unauthorized-and-context", "error", "hang"]


@dataclass
class Engine:
    proc: EngineProcess
    ws_port: int


async def _answer(worker: RawWorker) -> None:
    """Serve ``test::auth`` (the query's ``token`` says how to answer) and ``test::join`` (the
    group id says how to answer)."""
    while True:
        frame = await worker.inbox.get()
        if frame.get("type") != "invokefunction":
            continue
        data = frame["data"]
        token = data["query_params"].get("token", [""])[0] if "query_params" in data else data["group_id"]
        reply: dict[str, Any] = {"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                 "function_id": frame["function_id"]}
        if token == "hang":
            continue  # never answers: the engine's auth_timeout_ms must refuse
        if token == "error":
            reply["error"] = {"code": "boom", "message": "auth backend down"}
        elif token in JOIN_ALLOWS:
            reply["result"] = JOIN_ALLOWS[token]
        else:
            reply["result"] = {**DENIALS, **ALLOWS}[token]
        await worker.send(reply)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    ws_port = free_port()
    config = {"port": ws_port, "host": "127.0.0.1", "auth_function": AUTH_ID, "auth_timeout_ms": TIMEOUT_MS,
              "join_timeout_ms": TIMEOUT_MS, "adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}
    proc = EngineProcess(tmp_path, workers=[{"name": "iii-stream", "config": config}]).start()
    worker = await RawWorker.connect(proc.url)
    await worker.register(AUTH_ID)
    await worker.register(JOIN_ID)
    await worker.send({"type": "registertrigger", "id": "join-gate", "trigger_type": "stream:join",
                       "function_id": JOIN_ID, "config": {}})
    await wait_function(worker, JOIN_ID)
    server = asyncio.ensure_future(_answer(worker))
    try:
        yield Engine(proc, ws_port)
    finally:
        server.cancel()
        await worker.close()
        proc.stop()


async def _status(port: int, token: str) -> int:
    """101 when the upgrade was accepted, else the HTTP status of the refusal."""
    try:
        ws = await connect(f"ws://127.0.0.1:{port}/?token={token}", open_timeout=5)
    except InvalidStatus as exc:
        return exc.response.status_code
    await ws.close()
    return 101


async def test_every_denial_shape_refuses(engine: Engine) -> None:
    statuses = {token: await _status(engine.ws_port, token) for token in DENIALS}
    assert statuses == dict.fromkeys(DENIALS, 401)


async def test_an_error_and_a_timeout_refuse(engine: Engine) -> None:
    assert await _status(engine.ws_port, "error") == 401
    started = asyncio.get_running_loop().time()
    assert await _status(engine.ws_port, "hang") == 401
    assert asyncio.get_running_loop().time() - started < 3  # auth_timeout_ms, not the default 10 s


async def test_explicit_allow_shapes_admit(engine: Engine) -> None:
    statuses = {token: await _status(engine.ws_port, token) for token in ALLOWS}
    assert statuses == dict.fromkeys(ALLOWS, 101)


async def _join(port: int, group: str) -> str:
    """The event type a join of ``group`` gets back: ``sync`` (admitted) or ``unauthorized``."""
    client = StreamClient(await connect(f"ws://127.0.0.1:{port}/?token=true", open_timeout=5))
    try:
        await client.join("s", "chat", group)
        return str((await client.next(timeout=5))["event"]["type"])
    finally:
        await client.close()


async def test_a_join_handler_denial_error_or_timeout_refuses_the_join(engine: Engine) -> None:
    results = {group: await _join(engine.ws_port, group) for group in JOIN_DENIALS}
    assert results == dict.fromkeys(JOIN_DENIALS, "unauthorized")
    results = {group: await _join(engine.ws_port, group) for group in JOIN_ALLOWS}
    assert results == dict.fromkeys(JOIN_ALLOWS, "sync")


# ---------------------------------------------------------------- Steps / Motia projects

STREAM_FILE = """
    def authenticate(request, ctx):
        token = request.query_params.get("token", [""])[0]
        if token == "crash":
            raise RuntimeError("auth backend down")
        if token == "none":
            return None
        if token == "dict-no":
            return {"authorized": False}
        return token == "good"

    config = {"name": "chat", "schema": {"type": "object"}, "authenticate": authenticate}
"""

MOTIA_CONFIG = """
    def authenticate_stream(request, ctx):
        token = request.query_params.get("token", [""])[0]
        if token == "good":
            return {"context": {"user": "alice"}}
        return None
"""


@pytest.fixture
def steps_engine(tmp_path: Path) -> Iterator[Engine]:
    ws_port = free_port()
    config = {"port": ws_port, "host": "127.0.0.1", "auth_function": "motia::stream::authenticate",
              "auth_timeout_ms": 2000, "adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}
    proc = EngineProcess(tmp_path, workers=[{"name": "iii-stream", "config": config}]).start()
    try:
        yield Engine(proc, ws_port)
    finally:
        proc.stop()


async def _with_runner(project: Path, engine: Engine, tokens: list[str]) -> dict[str, int]:
    runner = StepsRunner(project, engine.proc.url)
    report = await asyncio.to_thread(runner.start)
    try:
        assert not report.errors, report.errors
        # start() returns once the registrations are sent, not once the engine has them.
        observer = await RawWorker.connect(engine.proc.url)
        try:
            await wait_function(observer, "motia::stream::authenticate")
        finally:
            await observer.close()
        return {token: await _status(engine.ws_port, token) for token in tokens}
    finally:
        await asyncio.to_thread(runner.stop)


async def test_stream_file_authenticate_saying_no_refuses(steps_engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"steps/chat_stream.py": STREAM_FILE})
    statuses = await _with_runner(project, steps_engine, ["bad", "none", "dict-no", "crash", "good"])
    assert statuses == {"bad": 401, "none": 401, "dict-no": 401, "crash": 401, "good": 101}


async def test_motia_config_authenticate_stream_is_registered_and_honoured(steps_engine: Engine,
                                                                           tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"motia_config.py": MOTIA_CONFIG})
    statuses = await _with_runner(project, steps_engine, ["good", "bad"])
    assert statuses == {"good": 101, "bad": 401}



# ---------------------------------------------------------------- the official SDK's allow shape

def _sdk_auth(request: Any) -> Any:
    from iii_helpers.stream import StreamAuthResult

    token = request["query_params"].get("token", [""])[0]
    if token == "with-context":
        return StreamAuthResult(context={"user": "alice"})
    if token == "no-context":
        return StreamAuthResult()  # sent as {} by the SDK
    return None


async def test_the_official_sdk_stream_auth_result_admits_and_none_refuses(tmp_path: Path) -> None:
    ws_port = free_port()
    config = {"port": ws_port, "host": "127.0.0.1", "auth_function": "sdk::auth", "auth_timeout_ms": 2000,
              "adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}
    proc = EngineProcess(tmp_path, workers=[{"name": "iii-stream", "config": config}]).start()
    try:
        with sdk_worker(proc.url) as worker:
            worker.register_function("sdk::auth", _sdk_auth)
            call(worker, "engine::functions::list", {})
            statuses = {t: await _status(ws_port, t) for t in ("with-context", "no-context", "none")}
        assert statuses == {"with-context": 101, "no-context": 101, "none": 401}
    finally:
        proc.stop()
