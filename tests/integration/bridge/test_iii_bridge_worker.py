"""The ``iii-bridge`` worker: functions of one engine callable from the other (``bridge.invoke``,
``bridge.invoke_async``, ``forward`` and ``expose`` rules), with official iii-sdk workers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from iii.errors import InvocationError

from tests.integration.bridge.support import FAST
from tests.integration.state.kvsupport import call, sdk_worker
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually


class Engines:
    def __init__(self, tmp: Path) -> None:
        (tmp / "backend").mkdir()
        (tmp / "front").mkdir()
        self.backend = EngineProcess(tmp / "backend").start()
        bridge = {"url": self.backend.url, "service_name": "front-bridge", **FAST,
                  "forward": [{"local_function": "orders::total", "remote_function": "billing::total"},
                              {"local_function": "orders::slow", "remote_function": "billing::slow",
                               "timeout_ms": 300}],
                  "expose": [{"local_function": "front::greet", "remote_function": "remote::greet"},
                             {"local_function": "front::fail"}]}
        self.front = EngineProcess(tmp / "front", workers=[{"name": "iii-bridge", "config": bridge}]).start()

    def stop(self) -> None:
        self.front.stop()
        self.backend.stop()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    e = Engines(tmp_path_factory.mktemp("iii-bridge"))
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture(scope="module")
def workers(engines: Engines) -> Iterator[tuple[Any, Any, list[Any]]]:
    got: list[Any] = []

    def slow(data: Any) -> Any:
        import time

        time.sleep(1)
        return data

    def fail(data: Any) -> Any:
        raise ValueError("front says no")

    with sdk_worker(engines.backend.url, "billing") as back, sdk_worker(engines.front.url, "shop") as front:
        back.register_function("billing::total", lambda d: {"total": sum(d["items"])})
        back.register_function("billing::slow", slow)
        back.register_function("billing::record", lambda d: got.append(d))
        front.register_function("front::greet", lambda d: f"hello {d['name']} from the front")
        front.register_function("front::fail", fail)
        yield front, back, got


def _ready(worker: Any, function_id: str, payload: Any) -> Any:
    def probe() -> Any:
        try:
            return [call(worker, function_id, payload)]
        except InvocationError as exc:
            assert exc.code != "function_not_found", exc
            raise
    return asyncio.run(eventually(probe, what=f"{function_id} answers"))[0]


def test_bridge_invoke_calls_the_remote_engine(workers: tuple[Any, Any, list[Any]]) -> None:
    front, _, _ = workers
    result = _ready(front, "bridge.invoke", {"function_id": "billing::total", "data": {"items": [1, 2, 3]}})
    assert result == {"total": 6}
    with pytest.raises(InvocationError) as info:
        call(front, "bridge.invoke", {"function_id": "billing::nope", "data": {}})
    assert info.value.code == "function_not_found"
    with pytest.raises(InvocationError) as info:
        call(front, "bridge.invoke", {"data": {}})
    assert info.value.code == "deserialization_error"
    with pytest.raises(InvocationError) as info:
        call(front, "bridge.invoke", {"function_id": "billing::slow", "data": 1, "timeout_ms": 200})
    assert info.value.code == "bridge_timeout"


def test_bridge_invoke_async_is_fire_and_forget(workers: tuple[Any, Any, list[Any]]) -> None:
    front, _, got = workers
    assert call(front, "bridge.invoke_async", {"function_id": "billing::record", "data": {"id": 7}}) is None
    asyncio.run(eventually(lambda: any(g.get("id") == 7 for g in got), what="the remote function ran"))


def test_forward_rules_register_local_functions(workers: tuple[Any, Any, list[Any]]) -> None:
    front, _, _ = workers
    assert _ready(front, "orders::total", {"items": [4, 5]}) == {"total": 9}
    with pytest.raises(InvocationError) as info:
        call(front, "orders::slow", {"x": 1})  # the rule's timeout_ms (300) is shorter than the 1 s handler
    assert info.value.code == "bridge_timeout"


def test_expose_rules_make_front_functions_callable_on_the_backend(workers: tuple[Any, Any, list[Any]]) -> None:
    _, back, _ = workers
    assert _ready(back, "remote::greet", {"name": "ada"}) == "hello ada from the front"
    error = asyncio.run(eventually(lambda: _error(back, "front::fail"), what="front::fail exposed"))
    assert error.code == "invocation_failed" and "front says no" in error.message


def _error(worker: Any, function_id: str) -> InvocationError | None:
    try:
        call(worker, function_id, {})
    except InvocationError as exc:
        return None if exc.code == "function_not_found" else exc
    raise AssertionError("expected an error")


def test_remote_down_gives_bridge_unavailable_then_recovers(tmp_path: Path) -> None:
    e = Engines(tmp_path)
    try:
        with sdk_worker(e.backend.url, "billing") as back:
            back.register_function("billing::total", lambda d: {"total": sum(d["items"])})
            with sdk_worker(e.front.url, "shop") as front:
                assert _ready(front, "orders::total", {"items": [1]}) == {"total": 1}
                e.backend.stop()
                with pytest.raises(InvocationError) as info:
                    call(front, "orders::total", {"items": [1]})
                assert info.value.code == "bridge_unavailable"
                e.backend.start()
                # the backend's worker reconnects by itself; the front's exposed functions come back too
                assert _ready(front, "orders::total", {"items": [2]}) == {"total": 2}
                front.register_function("front::greet", lambda d: "again")
                assert _ready(back, "remote::greet", {}) == "again"
    finally:
        e.stop()


def test_url_defaults_to_iii_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "f").mkdir()
    backend = EngineProcess(tmp_path / "b").start()
    monkeypatch.setitem(os.environ, "III_URL", backend.url)
    front = EngineProcess(tmp_path / "f", workers=[{"name": "bridge", "config": {}}]).start()
    try:
        with sdk_worker(backend.url, "b") as back, sdk_worker(front.url, "f") as fw:
            back.register_function("b::ping", lambda d: "pong")
            assert _ready(fw, "bridge.invoke", {"function_id": "b::ping"}) == "pong"
    finally:
        front.stop()
        backend.stop()
