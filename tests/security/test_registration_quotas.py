"""Attack: an RBAC session piles up bindings past ``max_triggers_per_worker`` by asking
``engine::register_trigger`` instead of sending ``registertrigger`` frames. Both ways count on
the one quota of the session (core/triggers.py ``TriggerRegistry``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.rbac_rig import Rig, http_binding, refusal
from tests.support.wire import RawWorker

QUOTA = 3


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    expose = ['match("api::*")', 'match("engine::register_trigger")']
    rig = Rig(tmp_path, rbac={"expose_functions": expose},
              extra={"engine": {"max_triggers_per_worker": QUOTA}}).start()
    try:
        await rig.trusted("owner", ["auth::check"])
        yield rig
    finally:
        await rig.stop()


async def bind_by_call(session: RawWorker, path: str) -> dict[str, Any]:
    return await session.call("engine::register_trigger", {
        "trigger_type": "http", "function_id": "sess::sink", "config": {"api_path": path, "http_method": "POST"}})


async def own_bindings(rig: Rig) -> int:
    """The session's bindings, as a trusted worker lists them."""
    viewer = await RawWorker.connect(rig.engine.url)
    try:
        return sum(1 for row in await rig.bindings(viewer, "http") if row["function_id"] == "sess::sink")
    finally:
        await viewer.close()


async def test_engine_register_trigger_counts_on_the_session_quota(rig: Rig) -> None:
    session = await rig.session()
    await session.register("sess::sink")
    for i in range(QUOTA):
        reply = await bind_by_call(session, f"q{i}")
        assert "error" not in reply, reply
    reply = await bind_by_call(session, "one-too-many")
    assert reply["error"]["code"] == "limit_exceeded", reply
    assert f"max_triggers_per_worker={QUOTA}" in reply["error"]["message"]
    assert await own_bindings(rig) == QUOTA


async def test_frames_and_calls_share_the_quota(rig: Rig) -> None:
    session = await rig.session()
    await session.register("sess::sink")
    for i in range(QUOTA - 1):
        await session.send(http_binding(f"frame-{i}", "sess::sink", f"f{i}"))
    reply = await bind_by_call(session, "by-call")
    assert "error" not in reply, reply
    await session.send(http_binding("frame-over", "sess::sink", "over"))
    answer = await session.expect("triggerregistrationresult", id="frame-over")
    assert refusal(answer) == "limit_exceeded", answer
    reply = await bind_by_call(session, "by-call-over")
    assert reply["error"]["code"] == "limit_exceeded", reply
    assert await own_bindings(rig) == QUOTA
