"""A binding may only target what its registrant may call (issue #16 item 6): a session that may
not invoke ``secret::internal`` cannot reach it through an HTTP route or a cron trigger either,
and a binding stops firing when its target falls out of the session's grant."""

from __future__ import annotations

from pathlib import Path

from tests.security.rbac_rig import Rig, http_binding, refusal, sync
from tests.support.waiting import eventually, stays

EVERY_SECOND = {"expression": "* * * * * *"}
RBAC = {"expose_functions": ['match("api::*")', {"metadata": {"public": True}}]}


async def test_route_and_cron_to_a_forbidden_function_are_refused(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rbac=RBAC, workers=[{"name": "cron"}]).start()
    try:
        await rig.trusted("backend", ["auth::check", "secret::internal", "api::echo"])
        session = await rig.session()
        denied = await session.call("secret::internal", {})
        assert denied["error"]["code"] == "FORBIDDEN"

        await session.send(http_binding("pwn-route", "secret::internal", "pwn"))
        answer = await session.expect("triggerregistrationresult", id="pwn-route")
        assert refusal(answer) == "FORBIDDEN", answer
        assert "secret::internal" in answer["error"]["message"]
        await session.send({"type": "registertrigger", "id": "pwn-cron", "trigger_type": "cron",
                            "function_id": "secret::internal", "config": EVERY_SECOND})
        answer = await session.expect("triggerregistrationresult", id="pwn-cron")
        assert refusal(answer) == "FORBIDDEN", answer

        # Nor as the condition or middleware of a route to a function it may call.
        await session.send({**http_binding("pwn-mw", "api::echo", "mw"),
                            "config": {"api_path": "mw", "http_method": "POST",
                                       "middleware_function_ids": ["secret::internal"]}})
        answer = await session.expect("triggerregistrationresult", id="pwn-mw")
        assert refusal(answer) == "FORBIDDEN", answer
        await session.send({**http_binding("pwn-cond", "api::echo", "cond"),
                            "config": {"api_path": "cond", "http_method": "POST",
                                       "condition_function_id": "secret::internal"}})
        answer = await session.expect("triggerregistrationresult", id="pwn-cond")
        assert refusal(answer) == "FORBIDDEN", answer

        # What the session may call, it may bind.
        await session.send(http_binding("ok-route", "api::echo", "ok"))
        await rig.wait_route("/ok", "backend")

        for path in ("/pwn", "/mw", "/cond"):
            assert (await rig.post(path, {})).status_code == 404
        await stays(lambda: rig.runs["secret::internal"] == 0, 1.5, what="secret::internal never runs")
        await session.close()
    finally:
        await rig.stop()


async def test_binding_rechecked_when_it_fires(tmp_path: Path) -> None:
    rig = Rig(tmp_path, rbac=RBAC, workers=[{"name": "cron"}]).start()
    try:
        await rig.trusted("auth", ["auth::check"])
        await rig.trusted("public", ["pub::report"], metadata={"public": True})
        session = await rig.session()
        await session.send({"type": "registertrigger", "id": "tick", "trigger_type": "cron",
                            "function_id": "pub::report", "config": EVERY_SECOND})
        await eventually(lambda: rig.runs["public:pub::report"] >= 1, timeout=5, what="allowed binding fires")

        # A trusted worker re-registers the id without the metadata that exposed it.
        private = await rig.trusted("private", ["pub::report"])
        await sync(private)
        await stays(lambda: rig.runs["private:pub::report"] == 0, 1.5,
                    what="the session's cron never runs the now-private function")
        await session.close()
    finally:
        await rig.stop()
