"""Attack: an RBAC session binds a queue topic, ``state``, ``stream``, pub/sub … to its OWN
function (which it may always target) and so receives a copy of every message or change that
other parties produce. With the spec's default (``allowed_trigger_types`` absent = all types)
nothing stopped it.

A trigger type that delivers other parties' data (``rbac.explicit_trigger_types``) is bound by a
session only when its auth result names it in ``allowed_trigger_types``; ``[]`` restores the
reference's rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.security.rbac_rig import Rig, refusal, sync
from tests.support.waiting import eventually, stays
from tests.support.wire import RawWorker

WORKERS: list[dict[str, Any]] = [{"name": "iii-state"}, {"name": "iii-queue"}, {"name": "iii-pubsub"}]

#: trigger type -> a config that watches everything it can
SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "state": {"scope": "accounts"},
    "queue": {"topic": "payments"},
    "durable:subscriber": {"topic": "payments"},
    "subscribe": {"topic": "chat"},
    "engine::functions-available": {},
}


async def rig_with(tmp_path: Path, rbac: dict[str, Any] | None = None) -> tuple[Rig, RawWorker]:
    rig = Rig(tmp_path, rbac=rbac, workers=WORKERS).start()
    trusted = await rig.trusted("owner", ["auth::check"])
    return rig, trusted


def binding(trigger_type: str) -> dict[str, Any]:
    return {"type": "registertrigger", "id": f"spy-{trigger_type}", "trigger_type": trigger_type,
            "function_id": "spy::sink", "config": SUBSCRIPTIONS[trigger_type]}


async def spy_session(rig: Rig) -> RawWorker:
    spy = await rig.session()
    await spy.register("spy::sink")
    return spy


def deliveries(spy: RawWorker) -> list[dict[str, Any]]:
    """Invocations of the spy's function that reached it (drained from its inbox)."""
    out: list[dict[str, Any]] = []
    while not spy.inbox.empty():
        frame = spy.inbox.get_nowait()
        if frame.get("type") == "invokefunction":
            out.append(frame)
    return out


async def test_a_session_may_not_subscribe_to_others_data_by_default(tmp_path: Path) -> None:
    rig, trusted = await rig_with(tmp_path, {"expose_functions": ['match("engine::register_trigger")']})
    try:
        spy = await spy_session(rig)
        for trigger_type in SUBSCRIPTIONS:
            await spy.send(binding(trigger_type))
            answer = await spy.expect("triggerregistrationresult", id=f"spy-{trigger_type}")
            assert refusal(answer) == "FORBIDDEN", answer
            assert "allowed_trigger_types" in answer["error"]["message"]

            reply = await spy.call("engine::register_trigger", {
                "trigger_type": trigger_type, "function_id": "spy::sink", "config": SUBSCRIPTIONS[trigger_type]})
            assert reply["error"]["code"] == "FORBIDDEN", reply

        # Nothing others write, publish or enqueue reaches the session.
        for function_id, data in (("state::set", {"scope": "accounts", "key": "alice", "value": {"iban": "X"}}),
                                  ("publish", {"topic": "chat", "data": {"secret": 1}}),
                                  ("enqueue", {"topic": "payments", "data": {"amount": 10}})):
            answer = await trusted.call(function_id, data)
            assert "error" not in answer, answer
        await trusted.register("other::fn")  # an engine::functions-available event
        await stays(lambda: not deliveries(spy), 0.5, what="the spy received nothing")
    finally:
        await rig.stop()


async def test_the_switch_restores_the_reference_rule(tmp_path: Path) -> None:
    """``explicit_trigger_types: []``: absent ``allowed_trigger_types`` allows every type again."""
    rig, trusted = await rig_with(tmp_path, {"explicit_trigger_types": []})
    try:
        spy = await spy_session(rig)
        await spy.send(binding("state"))
        await sync(spy)
        await trusted.call("state::set", {"scope": "accounts", "key": "bob", "value": 1})
        assert await eventually(lambda: deliveries(spy), what="the state change reached the session")
        await spy.close()  # its unanswered call goes with it (no shutdown grace to wait for)
    finally:
        await rig.stop()
