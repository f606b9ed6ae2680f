"""Bindings have owners (issue #16 item 5): an RBAC session cannot take over or remove a route,
cron job … that another worker owns; among trusted workers a takeover is undone when the taker
leaves; the HTTP router and ``engine::registered-triggers::list`` agree after every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.security.rbac_rig import Rig, http_binding, refusal, sync
from tests.support.waiting import eventually, stays
from tests.support.wire import RawWorker


async def _echo_routes(rig: Rig, worker: RawWorker) -> list[str]:
    """Function ids of the listed ``POST /echo`` bindings."""
    rows = await rig.bindings(worker, "http")
    return [r["function_id"] for r in rows
            if r["config"].get("api_path") in ("echo", "/echo") and r["config"].get("http_method") == "POST"]


async def _agree(rig: Rig, worker: RawWorker, name: str, function_id: str) -> None:
    """The route answers from ``name`` and the registry lists exactly that one binding."""
    response = await rig.wait_route("/echo", name)
    assert response.json()["function"] == function_id
    assert await _echo_routes(rig, worker) == [function_id]


async def test_session_cannot_take_over_or_remove_a_trusted_route(tmp_path: Path) -> None:
    rig = Rig(tmp_path).start()
    try:
        owner = await rig.trusted("owner", ["auth::check", "api::echo"])
        await owner.send(http_binding("owner-echo", "api::echo", "echo"))
        await _agree(rig, owner, "owner", "api::echo")

        session = await rig.session()
        await session.register("evil::sink")
        await session.send(http_binding("steal", "evil::sink", "echo"))
        answer = await session.expect("triggerregistrationresult", id="steal")
        assert refusal(answer) == "FORBIDDEN", answer
        assert "owned by another worker" in answer["error"]["message"]

        response = await rig.post("/echo", {"password": "hunter2"})
        assert response.json() == {"by": "owner", "function": "api::echo", "got": {"password": "hunter2"}}
        assert await _echo_routes(rig, owner) == ["api::echo"]

        # Replacing the owner's binding by its id, or removing it, is refused the same way.
        await session.send(http_binding("owner-echo", "evil::sink", "other"))
        answer = await session.expect("triggerregistrationresult", id="owner-echo")
        assert refusal(answer) == "FORBIDDEN", answer
        await session.send({"type": "unregistertrigger", "id": "owner-echo", "trigger_type": "http"})
        answer = await session.expect("triggerregistrationresult", id="owner-echo")
        assert refusal(answer) == "FORBIDDEN", answer
        await sync(session)
        await _agree(rig, owner, "owner", "api::echo")

        await session.close()
        await _agree(rig, owner, "owner", "api::echo")
        assert rig.runs["evil::sink"] == 0
    finally:
        await rig.stop()


async def test_trusted_takeover_is_logged_and_undone_when_the_taker_leaves(tmp_path: Path) -> None:
    rig = Rig(tmp_path).start()
    try:
        first = await rig.trusted("first", ["api::echo"])
        await first.send(http_binding("first-echo", "api::echo", "echo"))
        await _agree(rig, first, "first", "api::echo")

        # A second binding of the same route takes over (logged); removing it restores the first.
        second = await rig.trusted("second", ["api::echo2"])
        await second.send(http_binding("second-echo", "api::echo2", "/echo"))
        await _agree(rig, first, "second", "api::echo2")
        assert "takes over" in rig.engine.logs()
        await second.send({"type": "unregistertrigger", "id": "second-echo", "trigger_type": "http"})
        await _agree(rig, first, "first", "api::echo")

        # Again, and this time the taker disconnects: the first binding serves again (was 405).
        await second.send(http_binding("second-echo", "api::echo2", "echo"))
        await _agree(rig, first, "second", "api::echo2")
        await second.close()
        await _agree(rig, first, "first", "api::echo")

        # The first owner leaving takes the route away for good: 404, nothing listed.
        await first.close()
        watcher = await rig.trusted("watcher", [])

        async def gone() -> bool:
            return (await rig.post("/echo", {})).status_code == 404 and await _echo_routes(rig, watcher) == []
        await eventually(gone, what="route gone with its last owner")
    finally:
        await rig.stop()


async def test_session_cannot_replace_or_remove_a_trusted_cron_binding(tmp_path: Path) -> None:
    rig = Rig(tmp_path, workers=[{"name": "cron"}]).start()
    try:
        owner = await rig.trusted("owner", ["auth::check", "api::nightly"])
        rare = {"expression": "0 0 3 1 1 *"}
        await owner.send({"type": "registertrigger", "id": "nightly", "trigger_type": "cron",
                          "function_id": "api::nightly", "config": rare})

        async def listed() -> list[Any]:
            return [(r["id"], r["function_id"]) for r in await rig.bindings(owner, "cron")]
        await eventually(lambda: _is(listed, [("nightly", "api::nightly")]), what="cron binding listed")

        session = await rig.session()
        await session.register("evil::tick")
        await session.send({"type": "registertrigger", "id": "nightly", "trigger_type": "cron",
                            "function_id": "evil::tick", "config": {"expression": "* * * * * *"}})
        answer = await session.expect("triggerregistrationresult", id="nightly")
        assert refusal(answer) == "FORBIDDEN", answer
        await session.send({"type": "unregistertrigger", "id": "nightly", "trigger_type": "cron"})
        answer = await session.expect("triggerregistrationresult", id="nightly")
        assert refusal(answer) == "FORBIDDEN", answer
        await sync(session)
        assert await listed() == [("nightly", "api::nightly")]
        # Several cron bindings may share an expression: a session's own one is fine.
        await session.send({"type": "registertrigger", "id": "mine", "trigger_type": "cron",
                            "function_id": "evil::tick", "config": rare})
        await sync(session)
        assert sorted(await listed()) == [("mine", "evil::tick"), ("nightly", "api::nightly")]
        await stays(lambda: session.inbox.empty(), 0.2, what="no refusal for the session's own binding")
        await session.close()
    finally:
        await rig.stop()


async def _is(probe: Any, expected: Any) -> bool:
    return bool(await probe() == expected)
