"""Graceful shutdown drains in-flight requests; the route trie's rules, in-process."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyiii.core.triggers import Binding
from pyiii.workers.http.paths import InvalidPath, request_segments
from pyiii.workers.http.router import Route, RouteConflict, Router
from tests.integration.http.support import HttpEngine, sdk_worker, wait_route


def test_shutdown_drains_in_flight_requests(tmp_path: Path) -> None:
    eng = HttpEngine(tmp_path).start()
    started = threading.Event()
    results: list[Any] = []

    def slow(data: dict[str, Any]) -> Any:
        started.set()
        time.sleep(1.0)
        return {"body": "finished"}

    try:
        with sdk_worker(eng.proc.url) as w:
            w.register_function("sd::slow", slow)
            w.register_trigger({"type": "http", "function_id": "sd::slow", "config": {"api_path": "/slow"}})
            w.register_function("sd::fast", lambda data: {"body": "fast"})
            w.register_trigger({"type": "http", "function_id": "sd::fast", "config": {"api_path": "/fast"}})
            wait_route(eng.base, "GET", "/fast")
            client = threading.Thread(target=lambda: results.append(httpx.get(eng.base + "/slow", timeout=10)))
            client.start()
            assert started.wait(5)
            eng.proc.proc.terminate()  # SIGTERM while the request is in flight
            client.join(10)
            assert results and results[0].status_code == 200 and results[0].json() == "finished"
            assert eng.proc.proc.wait(10) == 0
    finally:
        eng.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(eng.base + "/fast")


def _route(binding_id: str, pattern: str, method: str = "GET") -> Route:
    return Route(method, pattern, (), binding_id, "f", Binding(binding_id, "http", "f"))


def _match(router: Router, path: str, method: str = "GET") -> tuple[str, list[str]] | None:
    found = router.match(request_segments(path))
    if found is None or method not in found.routes:
        return None
    return found.routes[method].pattern, found.values


def test_trie_rules() -> None:
    router = Router()
    for i, pattern in enumerate(["/", "/users", "/users/:id", "/users/me", "/users/:id/posts/{post}", "/a/"]):
        router.add(_route(f"b{i}", pattern))
    assert _match(router, "/") == ("/", [])
    assert _match(router, "/users/me") == ("/users/me", [])
    assert _match(router, "/users/42") == ("/users/:id", ["42"])
    assert _match(router, "/users/me/posts/9") == ("/users/:id/posts/{post}", ["me", "9"])
    assert _match(router, "/users/") is None and _match(router, "/a") is None and _match(router, "/a/") is not None
    with pytest.raises(RouteConflict, match="conflicts with already-registered route 'GET /users/:id'"):
        router.add(_route("other", "/users/:uid"))
    router.add(_route("other", "/users/:uid", "POST"))  # another method may name it differently
    router.add(_route("b2", "/users/:id/profile"))  # same binding id: moves the route
    assert _match(router, "/users/42") is None and _match(router, "/users/42/profile") is not None
    for binding_id in ["b0", "b1", "b2", "b3", "b4", "b5", "other"]:
        router.remove(binding_id)
    assert len(router) == 0 and router.match(request_segments("/users/1")) is None
    assert not router._root.static and router._root.param is None  # pruned


@pytest.mark.parametrize("pattern", ["/a//b", "/a/:1x", "/a/{x", "/a/*", "/x/:id/:id", "/a/../b"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidPath):
        Router().add(_route("b", pattern))
