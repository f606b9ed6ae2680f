"""The owner's observer set (spec iii-0.23-0.25 §3.1, §5.6): set diffing, the revision rule, acks,
hooks and their rejections, local-dispatch confirmation."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

import pytest

from pyiii.sdk import ObserveHooks, ObserveRejection
from pyiii.sdk.owner import FunctionObservers, Observer
from tests.support.waiting import eventually


class Host:
    def __init__(self, hook_timeout_s: float = 5.0) -> None:
        self.acks: list[dict[str, Any]] = []
        self.hook_timeout_s = hook_timeout_s
        self.tasks: list[Any] = []

    def send_ack(self, frame: dict[str, Any]) -> None:
        self.acks.append(frame)

    def run_hook(self, hook: Any, obs: Observer) -> Awaitable[None]:
        async def run() -> None:
            result = hook(obs)
            if inspect.isawaitable(result):
                await result

        return run()

    def spawn(self, aw: Any) -> None:
        self.tasks.append(aw)

    def emit(self, owner: Any, obs: Observer, event: Any) -> bool:
        return True

    def call(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        return payload

    async def call_async(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        return payload


def info(observer_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": observer_id, "args": {}, "filters": {}, "target": "t::f", **extra}


def acks(host: Host) -> list[tuple[str, int, str | None]]:
    return [(a["id"], a["revision"], a.get("error", {}).get("code")) for a in host.acks]


def test_functionregistered_confirms_and_decides_local_dispatch() -> None:
    host = Host()
    fn = FunctionObservers("a::f", None, True, True, host)
    fn.on_function_registered("orders", 3, True, [], generation=7)
    assert (fn.namespace, fn.revision, fn.local_dispatch, fn.confirmed_on) == ("orders", 3, True, 7)
    off = FunctionObservers("a::g", None, False, True, host)
    off.on_function_registered("orders", 0, True, [], generation=7)
    assert not off.local_dispatch  # register_function(local_dispatch=False)
    http = FunctionObservers("a::h", None, True, False, host)
    http.on_function_registered("orders", 0, True, [], generation=7)
    assert not http.local_dispatch  # no handler here
    fn.on_rejected()
    assert not fn.local_dispatch and fn.confirmed_on == 0


def test_every_member_of_a_set_is_acked_and_a_replay_keeps_them() -> None:
    host = Host()
    fn = FunctionObservers("a::f", None, True, True, host)
    fn.on_function_registered("ns", 1, True, [info("o1", filters={"input.a": {"$gte": 5}})], generation=1)
    assert acks(host) == [("o1", 1, None)]
    assert host.acks[0]["namespace"] == "ns" and host.acks[0]["function_id"] == "a::f"
    [obs] = fn.active()
    assert obs.matches({"input": {"a": 9}}) and not obs.matches({"input": {"a": 1}})
    fn.on_function_registered("ns", 2, True, [info("o1", filters={}), info("o2")], generation=2)
    assert acks(host)[1:] == [("o1", 2, None), ("o2", 2, None)]
    assert fn.active()[0] is obs and obs.matches({"input": {"a": 1}})  # filters taken silently
    fn.on_function_registered("ns", 3, True, [info("o2")], generation=3)
    assert [o.id for o in fn.active()] == ["o2"]


def test_the_revision_rule_ignores_stale_deltas() -> None:
    host = Host()
    fn = FunctionObservers("a::f", None, True, True, host)
    fn.on_function_registered("ns", 5, True, [], generation=1)
    fn.on_observer_added("ns", 5, info("dup"))
    fn.on_observer_added("ns", 4, info("old"))
    assert host.acks == [] and fn.active() == []
    fn.on_observer_added("ns", 6, info("new"))
    assert acks(host) == [("new", 6, None)]
    fn.on_observer_removed(6, "new")
    assert len(fn.active()) == 1
    fn.on_observer_removed(7, "new")
    assert fn.active() == []


def test_a_pushed_filter_that_does_not_compile_is_rejected() -> None:
    host = Host()
    fn = FunctionObservers("a::f", None, True, True, host)
    fn.on_function_registered("ns", 1, True, [info("bad", filters={"input.x": 5})], generation=1)
    [(observer_id, revision, code)] = acks(host)
    assert (observer_id, revision, code) == ("bad", 1, "INVALID_FILTER")
    assert fn.active() == []


async def test_hooks_run_before_the_ack_and_their_rejections_carry_codes() -> None:
    host = Host()
    seen: list[tuple[str, Any]] = []

    async def added(obs: Observer) -> None:
        seen.append(("added", obs.args))
        if obs.args.get("expression") == "bad":
            raise ObserveRejection("INVALID_CRON_EXPRESSION", "invalid day-of-week field")
        if obs.args.get("expression") == "boom":
            raise RuntimeError("kaput")

    def removed(obs: Observer) -> None:
        seen.append(("removed", obs.id))

    hooks = ObserveHooks(delivery="owner", on_observer_added=added, on_observer_removed=removed)
    fn = FunctionObservers("cron::tick", hooks, True, True, host)
    fn.on_function_registered("default", 1, True, [], generation=1)
    fn.on_observer_added("default", 2, info("o-good", args={"expression": "*"}))
    fn.on_observer_added("default", 3, info("o-bad", args={"expression": "bad"}))
    fn.on_observer_added("default", 4, info("o-boom", args={"expression": "boom"}))
    assert host.acks == []  # the hooks run first
    await asyncio.gather(*host.tasks)
    assert acks(host) == [("o-good", 2, None), ("o-bad", 3, "INVALID_CRON_EXPRESSION"),
                          ("o-boom", 4, "OBSERVE_REJECTED")]
    assert host.acks[2]["error"]["message"] == "kaput"
    assert [o.id for o in fn.active()] == ["o-good"]

    # a duplicate add of a held observer is re-acked without running the hook again
    fn.on_observer_added("default", 5, info("o-good", args={"expression": "*"}))
    assert acks(host)[-1] == ("o-good", 5, None) and seen.count(("added", {"expression": "*"})) == 1
    # changed args: removed then added again
    fn.on_function_registered("default", 6, True, [info("o-good", args={"expression": "**"})], generation=2)
    await asyncio.gather(*host.tasks)
    assert ("removed", "o-good") in seen and ("added", {"expression": "**"}) in seen
    assert acks(host)[-1] == ("o-good", 6, None)


async def test_a_slow_hook_is_rejected_with_owner_timeout() -> None:
    host = Host(hook_timeout_s=0.05)
    release = asyncio.Event()

    async def slow(obs: Observer) -> None:
        await release.wait()

    fn = FunctionObservers("a::f", ObserveHooks(on_observer_added=slow), True, True, host)
    fn.on_function_registered("ns", 1, True, [info("o")], generation=1)
    await eventually(lambda: host.acks)
    assert acks(host) == [("o", 1, "OWNER_TIMEOUT")]
    release.set()


def test_late_rejection_is_acked_and_repeated_until_removed() -> None:
    host = Host()
    fn = FunctionObservers("a::f", None, True, True, host)
    fn.on_function_registered("ns", 1, True, [info("o")], generation=1)
    [obs] = fn.active()
    obs.reject("GONE", "no more")
    assert acks(host)[-1] == ("o", 1, "GONE") and fn.active() == []
    fn.on_function_registered("ns", 1, True, [info("o")], generation=2)
    assert acks(host)[-1] == ("o", 1, "GONE")


def test_owner_delivery_checks() -> None:
    from pyiii.sdk import InvocationError

    host = Host()
    auto = FunctionObservers("a::f", None, True, True, host)
    auto.on_function_registered("ns", 1, True, [info("o")], generation=1)
    with pytest.raises(InvocationError) as err:
        auto.active()[0].emit({})
    assert err.value.code == "NOT_OWNER_DELIVERED"
    owner = FunctionObservers("a::g", ObserveHooks(delivery="owner"), True, True, host)
    owner.on_function_registered("ns", 1, True, [info("o")], generation=1)
    [obs] = owner.active()
    assert obs.emit({"x": 1}) and obs.call(5) == 5
    owner.on_observer_removed(2, "o")
    with pytest.raises(InvocationError) as err:
        obs.emit({})
    assert err.value.code == "OBSERVER_NOT_ACTIVE"


async def test_a_rejection_from_inside_the_added_hook_wins() -> None:
    host = Host()

    def added(obs: Observer) -> None:
        obs.reject("NOPE", "not this one")

    fn = FunctionObservers("a::f", ObserveHooks(on_observer_added=added), True, True, host)
    fn.on_function_registered("ns", 1, True, [info("o")], generation=1)
    await asyncio.gather(*host.tasks)
    assert acks(host) == [("o", 1, "NOPE")] and fn.active() == []
