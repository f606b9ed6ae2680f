"""Auth calls are bounded (issue #16 item 7): an auth function that never answers refuses the
handshake after ``auth_timeout_ms`` (fail closed), and handshakes waiting for it are capped by
``max_pending_handshakes`` (503 past it)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.security.rbac_rig import Rig
from tests.support.waiting import eventually
from tests.support.wire import RawWorker


async def test_auth_that_never_answers_refuses_and_pending_handshakes_are_capped(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rbac={"auth_timeout_ms": 1500, "max_pending_handshakes": 3}).start()
    mute = await RawWorker.connect(rig.engine.url)  # registers the auth function, never answers it
    try:
        await mute.register("auth::check")
        await mute.call("engine::baggage::get_all")

        started = time.monotonic()
        waiting = [await connect(rig.rbac_url) for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(rig.rbac_url)
        assert refused.value.response.status_code == 503
        assert b"max_pending_handshakes" in refused.value.response.body

        for ws in waiting:
            first = json.loads(await ws.recv())
            assert first["type"] == "error" and first["error"]["code"] == "AUTH_ERROR", first
            # The client reads a generic refusal; the log names the timeout under its error_id.
            error_id = first["error"]["message"].rpartition("error_id ")[2].rstrip(")")
            assert any(error_id in line and "auth_timeout_ms" in line for line in rig.engine.logs().splitlines())
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1008
        elapsed = time.monotonic() - started
        assert 1.4 <= elapsed < 5, elapsed

        # The slots are free again once the timed-out handshakes are gone.
        async def admitted() -> bool:
            try:
                async with connect(rig.rbac_url) as ws:
                    return json.loads(await ws.recv())["error"]["code"] == "AUTH_ERROR"
            except InvalidStatus:
                return False
        assert await eventually(admitted, what="a new handshake is admitted")
    finally:
        await mute.close()
        await rig.stop()


async def test_registration_hook_that_never_answers_denies(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rbac={"auth_function_id": None, "hook_timeout_ms": 300,
                              "on_trigger_registration_function_id": "hook::trigger"}).start()
    mute = await RawWorker.connect(rig.engine.url)  # registers the hook, never answers it
    try:
        await mute.register("hook::trigger")
        await mute.call("engine::baggage::get_all")
        session = await rig.session()
        await session.register("api::mine")
        started = time.monotonic()
        await session.send({"type": "registertrigger", "id": "t1", "trigger_type": "cron",
                            "function_id": "api::mine", "config": {"expression": "0 0 3 1 1 *"}})
        answer = await session.expect("triggerregistrationresult", id="t1", timeout=5)
        assert answer["error"]["code"] == "FORBIDDEN", answer
        assert time.monotonic() - started < 3
        await session.close()
    finally:
        await mute.close()
        await rig.stop()
