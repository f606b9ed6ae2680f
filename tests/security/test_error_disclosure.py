"""Attack (reconnaissance): a client of an RBAC listener (a browser, an untrusted worker) reads
internals from error answers: ``/readyz`` naming the private Redis that is down, or a refused
handshake carrying the auth function's own error text or a validation message.

On a listener with an ``rbac`` block, ``/readyz`` gives the status and a boolean per check, and
a refused handshake says ``authentication failed (error_id …)``; the detail is in the engine log
under that error_id (a trusted listener keeps the full readiness report for operators)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.security.rbac_rig import Rig
from tests.support.redis_server import ThrowawayRedis
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

SECRET = "password=hunter2 at db.internal:5432"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_readyz_on_an_rbac_listener_names_no_internals(tmp_path: Path) -> None:
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    dead_redis = redis.port
    rig = Rig(tmp_path, workers=[{"name": "iii-state", "config": {
        "adapter": {"name": "redis", "config": {"redis_url": redis.url}}}}],
        extra={"engine": {"health_check_timeout_ms": 300, "health_check_cache_ms": 100}}).start()
    try:
        redis.kill()  # the state adapter's check now fails with the server's address in its text
        async with httpx.AsyncClient(timeout=5) as http:
            async def down(port: int) -> httpx.Response | None:
                r = await http.get(f"http://127.0.0.1:{port}/readyz")
                return r if r.status_code == 503 and not all(r.json()["checks"].values()) else None

            trusted = await eventually(lambda: down(rig.engine.port), what="trusted /readyz reports the outage")
            assert str(dead_redis) in trusted.text  # operators still see which server is down
            public = await eventually(lambda: down(rig.rbac_port), what="RBAC /readyz reports the outage")
        body = public.json()
        assert set(body) == {"status", "checks"}, body
        assert body["status"] == "not_ready"
        assert all(isinstance(ok, bool) for ok in body["checks"].values())
        assert str(dead_redis) not in public.text and "rror" not in public.text, public.text
    finally:
        await rig.stop()
        redis.kill()


class Auth:
    """A trusted worker serving ``auth::check`` with a chosen misbehaviour."""

    def __init__(self, worker: RawWorker) -> None:
        self.worker = worker
        self.mode = "error"
        self._task = asyncio.ensure_future(self._serve())

    async def _serve(self) -> None:
        while True:
            frame = await self.worker.inbox.get()
            if frame.get("type") != "invokefunction":
                continue
            answer: dict[str, Any] = {"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                      "function_id": frame["function_id"]}
            if self.mode == "error":
                answer["error"] = {"code": "DB_DOWN", "message": f"cannot verify token: {SECRET}"}
            elif self.mode == "invalid":
                answer["result"] = {"allowed_functions": SECRET}  # not a list: a validation error
            else:
                continue  # never answers: auth_timeout_ms refuses
            await self.worker.send(answer)


@pytest.fixture
async def auth_rig(tmp_path: Path) -> AsyncIterator[tuple[Rig, Auth]]:
    rig = Rig(tmp_path, rbac={"auth_timeout_ms": 500}).start()
    worker = await RawWorker.connect(rig.engine.url)
    auth = Auth(worker)
    await worker.register("auth::check")
    await worker.call("engine::baggage::get_all", timeout=5)
    try:
        yield rig, auth
    finally:
        auth._task.cancel()
        await worker.close()
        await rig.stop()


@pytest.mark.parametrize("mode", ["error", "invalid", "mute"])
async def test_a_refused_handshake_names_no_internals(auth_rig: tuple[Rig, Auth], mode: str) -> None:
    rig, auth = auth_rig
    auth.mode = mode
    async with connect(rig.rbac_url) as ws:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1008
    assert frame["type"] == "error" and frame["error"]["code"] == "AUTH_ERROR", frame
    message = frame["error"]["message"]
    found = re.fullmatch(r"authentication failed \(error_id ([0-9a-f]+)\)", message)
    assert found is not None, message
    # The operator finds the real reason under the same error_id.
    line = await eventually(lambda: next((ln for ln in rig.engine.logs().splitlines()
                                          if found.group(1) in ln), None), what="the log line of the error_id")
    expected = {"error": SECRET, "invalid": "invalid result", "mute": "auth_timeout_ms"}[mode]
    assert expected in line, line
