"""iii-queue with ``adapter: bridge``: topics and named queues live on the backend engine; the
front engine's subscribers are fed from there. Official iii-sdk workers on both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from iii import TriggerAction
from iii.errors import InvocationError

from tests.integration.bridge.support import bridge_block
from tests.integration.state.kvsupport import call, sdk_worker, unique
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

QUEUE = {"adapter": {"name": "memory"}, "default_backoff_ms": 50,
         "queue_configs": {"jobs": {"max_retries": 3, "backoff_ms": 50}}}


class Engines:
    def __init__(self, tmp: Path) -> None:
        (tmp / "backend").mkdir()
        (tmp / "front").mkdir()
        self.backend = EngineProcess(tmp / "backend", workers=[{"name": "iii-queue", "config": QUEUE}]).start()
        self.front = EngineProcess(tmp / "front", workers=[
            {"name": "iii-queue", "config": {"adapter": bridge_block(self.backend.url)}}]).start()

    def stop(self) -> None:
        self.front.stop()
        self.backend.stop()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    e = Engines(tmp_path_factory.mktemp("queue-bridge"))
    try:
        yield e
    finally:
        e.stop()


def _wait(probe: Any, what: str) -> Any:
    return asyncio.run(eventually(probe, timeout=15, what=what))


def test_front_subscriber_gets_messages_published_on_either_engine(engines: Engines) -> None:
    topic = unique("orders")
    got: list[Any] = []
    attempts: dict[int, int] = {}

    def handle(data: Any) -> None:
        n = data["n"]
        attempts[n] = attempts.get(n, 0) + 1
        if n == 3 and attempts[n] == 1:
            raise RuntimeError("first attempt fails")  # the backend retries it
        got.append(n)

    with sdk_worker(engines.front.url, "front-sub") as front, sdk_worker(engines.backend.url, "back-pub") as back:
        front.register_function(f"{topic}::handle", handle)
        front.register_trigger({"type": "durable:subscriber", "function_id": f"{topic}::handle",
                                "config": {"topic": topic}})
        # once the subscription exists on the backend, it lists it
        _wait(lambda: any(t.get("name") == topic for t in
                          call(front, "engine::queue::list_topics", {}) or []), "the topic exists on the backend")
        assert call(front, "iii::durable::publish", {"topic": topic, "data": {"n": 1}}) is None
        call(back, "iii::durable::publish", {"topic": topic, "data": {"n": 2}})
        call(front, "enqueue", {"topic": topic, "data": {"n": 3}})
        _wait(lambda: sorted(got) == [1, 2, 3], "every message handled on the front")
        assert attempts[3] == 2
        with pytest.raises(InvocationError) as info:
            call(front, "iii::durable::publish", {"topic": "", "data": 1})
        assert info.value.code == "topic_not_set"  # the backend's own answer


def test_enqueue_on_front_is_consumed_on_backend(engines: Engines) -> None:
    done: list[Any] = []
    with sdk_worker(engines.backend.url, "back-jobs") as back, sdk_worker(engines.front.url, "front-jobs") as front:
        fid = unique("jobs") + "::run"
        back.register_function(fid, lambda data: done.append(data["id"]))
        _wait(lambda: _known(front, fid), "the backend function is known")
        receipt = front.trigger({"function_id": fid, "payload": {"id": "j1"},
                                 "action": TriggerAction.Enqueue(queue="jobs")})
        assert receipt and receipt.get("messageReceiptId")
        _wait(lambda: "j1" in done, "the job ran on the backend")
        with pytest.raises(InvocationError) as info:
            front.trigger({"function_id": fid, "payload": {"id": "j2"},
                           "action": TriggerAction.Enqueue(queue="no-such-queue")})
        # the front engine answers an enqueue failure as enqueue_error, with the backend's code inside
        assert info.value.code == "enqueue_error" and "queue_not_found" in info.value.message


def _known(front: Any, fid: str) -> bool:
    try:
        call(front, "iii::queue::redrive", {"queue": "jobs"})  # the bridge is up and forwarding
    except InvocationError as exc:
        return exc.code not in ("bridge_unavailable", "bridge_timeout")
    return True


def test_condition_runs_on_front_and_unsubscribe_stops_delivery(engines: Engines) -> None:
    from tests.support.waiting import stays

    topic = unique("filtered")
    got: list[int] = []
    with sdk_worker(engines.front.url, "front-cond") as front, sdk_worker(engines.backend.url, "back-cond") as back:
        front.register_function(f"{topic}::even", lambda data: data["n"] % 2 == 0)
        front.register_function(f"{topic}::handle", lambda data: got.append(data["n"]))
        trigger = front.register_trigger({"type": "durable:subscriber", "function_id": f"{topic}::handle",
                                          "config": {"topic": topic, "condition_function_id": f"{topic}::even"}})
        _wait(lambda: any(t.get("name") == topic for t in call(back, "engine::queue::list_topics", {}) or []),
              "the subscription exists on the backend")
        for n in range(1, 5):
            call(back, "iii::durable::publish", {"topic": topic, "data": {"n": n}})
        _wait(lambda: sorted(got) == [2, 4], "only the messages the condition accepts")
        trigger.unregister()
        _wait(lambda: not any(t.get("name") == topic and t.get("subscriber_count")
                              for t in call(back, "engine::queue::list_topics", {}) or []),
              "the subscription is gone from the backend")
        call(back, "iii::durable::publish", {"topic": topic, "data": {"n": 6}})
        asyncio.run(stays(lambda: 6 not in got, 0.5, what="no delivery after unsubscribe"))


def test_an_enqueue_on_front_runs_in_the_enqueuers_namespace_on_backend(engines: Engines) -> None:
    """Spec iii-0.23-0.25 §1.11 through the bridge: the namespace travels with the job."""
    from pyiii.sdk import InitOptions, register_worker
    from pyiii.sdk import TriggerAction as PyiiiAction

    ran: list[tuple[str, Any]] = []
    fid = unique("jobs") + "::ns"
    clients = [register_worker(url, InitOptions(worker_name=unique(ns or "plain"), namespace=ns))
               for url, ns in ((engines.backend.url, "ops"), (engines.backend.url, None), (engines.front.url, "ops"))]
    back_ops, back_default, front_ops = clients
    try:
        back_ops.register_function(fid, lambda data: ran.append(("ops", data["id"])))
        back_default.register_function(fid, lambda data: ran.append(("default", data["id"])))
        _wait(lambda: _bridge_up(front_ops), "the bridge is up")
        receipt = front_ops.trigger({"function_id": fid, "payload": {"id": "n1"},
                                     "action": PyiiiAction.Enqueue(queue="jobs")})
        assert receipt and receipt.get("messageReceiptId")
        _wait(lambda: ran, "the job ran on the backend")
        assert ran == [("ops", "n1")]
    finally:
        for client in clients:
            client.shutdown()


def _bridge_up(worker: Any) -> bool:
    """:func:`_known` for a worker outside ``default`` (built-in functions are in ``default``)."""
    try:
        worker.trigger({"function_id": "iii::queue::redrive", "payload": {"queue": "jobs"}, "namespace": "default"})
    except Exception as exc:
        return getattr(exc, "code", None) not in ("bridge_unavailable", "bridge_timeout")
    return True
