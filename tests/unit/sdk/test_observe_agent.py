"""The observe agent's connection rules (spec iii-0.23-0.25 §2.3, §5.2, §5.14), with a fake client:
what goes out when, what is replayed, queued or dropped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pyiii.sdk.observe_agent import ObserveAgent


class FakeClient:
    def __init__(self) -> None:
        self.generation: int | None = None
        self.sent: list[dict[str, Any]] = []

    def link_generation(self) -> int | None:
        return self.generation

    def post(self, frame: bytes) -> None:
        self.sent.append(json.loads(frame))

    def spawn_awaitable(self, aw: Any) -> None:
        raise AssertionError("no hooks here")

    def run_off_loop(self, fn: Callable[[], None]) -> None:
        fn()

    def run_hook(self, hook: Any, obs: Any) -> Any:
        raise AssertionError("no hooks here")

    def identity(self) -> dict[str, str]:
        return {"worker_id": "w-1", "worker_name": "me"}

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        callback()

    def soon(self, fn: Callable[..., None], *args: Any) -> None:
        fn(*args)

    def on_loop_thread(self) -> bool:
        return False

    def namespace_for(self, function_id: str, explicit: str | None) -> str | None:
        return explicit

    def call_observer_target(self, obs: Any, payload: Any, timeout_ms: int | None) -> Any:
        return None

    async def call_observer_target_async(self, obs: Any, payload: Any, timeout_ms: int | None) -> Any:
        return None


def kinds(client: FakeClient) -> list[tuple[str, str | None]]:
    return [(f["type"], f.get("id")) for f in client.sent]


def test_observers_wait_for_workerregistered_and_are_replayed_on_each_connection() -> None:
    client = FakeClient()
    agent = ObserveAgent(client)  # type: ignore[arg-type]
    handle = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o1"})
    assert client.sent == []  # offline
    client.generation = 1
    assert client.sent == []  # connected, but the engine's features are not known yet
    agent.on_worker_registered(["observe.v1"], 1)
    assert kinds(client) == [("observe", "o1")]
    client.generation = 2
    agent.on_worker_registered(["observe.v1"], 2)
    assert kinds(client) == [("observe", "o1"), ("observe", "o1")]
    assert handle.state == "pending"


def test_unobserve_is_queued_until_an_observe_v1_connection() -> None:
    client = FakeClient()
    agent = ObserveAgent(client)  # type: ignore[arg-type]
    client.generation = 1
    agent.on_worker_registered(["observe.v1"], 1)
    handle = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o1"})
    never_sent = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o2"})
    client.sent.clear()
    client.generation = 2  # reconnected, workerregistered not read yet
    handle.dispose()
    assert client.sent == []
    agent.on_worker_registered(["observe.v1"], 2)
    assert kinds(client) == [("unobserve", "o1"), ("observe", "o2")]
    client.sent.clear()
    never_sent.dispose()
    assert kinds(client) == [("unobserve", "o2")]


def test_an_engine_without_observe_makes_handles_unsupported_and_drops_what_was_held() -> None:
    client = FakeClient()
    agent = ObserveAgent(client)  # type: ignore[arg-type]
    client.generation = 1
    agent.on_worker_registered(["observe.v1"], 1)
    sent = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o1"})
    client.generation = None
    sent.dispose()
    client.generation = 2
    agent.on_worker_registered(["local-dispatch.v1"], 2)  # an engine without observe.v1
    late = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o2"})
    assert late.state == "error" and late.reason is not None and late.reason["code"] == "UNSUPPORTED"
    assert [f["type"] for f in client.sent] == ["observe"]  # only the first, on connection 1
    agent.stats.record("a::f", True, 1.0)
    assert not agent.send_stats()  # no observe.v1: stats wait


def test_state_frames_update_the_handle_and_disposed_forgets_it() -> None:
    client = FakeClient()
    agent = ObserveAgent(client)  # type: ignore[arg-type]
    client.generation = 1
    agent.on_worker_registered(["observe.v1"], 1)
    handle = agent.observe({"function_id": "s::f"}, "t::f", {"id": "o1"})
    assert agent.on_frame({"type": "observeresult", "id": "o1", "state": "active", "warnings": ["w"]})
    assert handle.state == "active"
    agent.on_frame({"type": "observerstatechanged", "id": "o1", "state": "disposed",
                    "reason": {"code": "MAX_FIRES", "message": "done"}, "fires": 2})
    assert handle.state == "disposed" and handle.fires == 2 and "o1" not in agent.observers
    assert not agent.on_frame({"type": "somethingelse"})
    agent.on_frame({"type": "observeresult", "id": "unknown", "state": "active"})  # ignored


def test_functionregistered_confirms_a_function_and_stats_go_out_online() -> None:
    client = FakeClient()
    agent = ObserveAgent(client)  # type: ignore[arg-type]
    state = agent.add_function("a::f", None, True, True)
    client.generation = 1
    agent.on_worker_registered(["observe.v1", "local-dispatch.v1"], 1)
    agent.on_frame({"type": "functionregistered", "id": "a::f", "namespace": "default", "revision": None,
                    "local_dispatch": True, "observers": None})
    assert state.local_dispatch and state.confirmed_on == 1 and agent.deliverable("a::f")
    agent.on_function_conflict("a::f")
    assert not state.local_dispatch and not agent.deliverable("a::f")
    agent.stats.record("a::f", False, 2.0)
    assert agent.send_stats()
    assert client.sent[-1]["type"] == "localinvocationstats"
    assert client.sent[-1]["functions"][0]["errors"] == 1
