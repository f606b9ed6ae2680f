"""Routes without middleware or condition whose handler lives in a worker: the request deadline
rides on the invocation itself (no per-request timer), so every way of not answering must
still end in a 504 within the route's timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.http.support import HttpEngine, sdk_worker, wait_route


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpEngine, Any]]:
    eng = HttpEngine(tmp_path_factory.mktemp("deadline"), {"default_timeout": 800}).start()
    try:
        with sdk_worker(eng.proc.url, "deadline-test") as worker:
            yield eng, worker
    finally:
        eng.stop()


def _route(worker: Any, function_id: str, handler: Any, api_path: str, **config: Any) -> None:
    worker.register_function(function_id, handler)
    worker.register_trigger({"type": "http", "function_id": function_id,
                             "config": {"api_path": api_path, "http_method": "GET", **config}})


def _timed(eng: HttpEngine, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(eng.base + path, timeout=10)
    return response, time.monotonic() - started


def test_slow_handler_gets_504_at_the_deadline(setup: Any) -> None:
    eng, worker = setup

    async def slow(req: dict[str, Any]) -> Any:
        if req["query_params"].get("wait"):
            await asyncio.sleep(3)
        return {"status_code": 200, "body": "fast"}

    _route(worker, "d::slow", slow, "/d/slow")
    assert wait_route(eng.base, "GET", "/d/slow").status_code == 200
    response, took = _timed(eng, "/d/slow?wait=1")
    assert response.status_code == 504 and response.json()["error"]["code"] == "TIMEOUT"
    assert 0.6 < took < 2.5


def test_null_result_without_a_response_channel_gets_504(setup: Any) -> None:
    eng, worker = setup
    _route(worker, "d::null", lambda req: None, "/d/null")
    wait_route(eng.base, "GET", "/d/null")
    response, took = _timed(eng, "/d/null")
    assert response.status_code == 504 and response.json()["error"]["code"] == "TIMEOUT"
    assert 0.6 < took < 2.5


def test_null_result_then_status_and_close_on_the_channel(setup: Any) -> None:
    eng, worker = setup

    async def status_only(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message_async('{"type":"set_status","status_code":202}')
        await out.close_async()
        return None

    _route(worker, "d::status", status_only, "/d/status")
    response = wait_route(eng.base, "GET", "/d/status")
    assert (response.status_code, response.content) == (202, b"")


def test_per_route_timeout_is_the_deadline(setup: Any) -> None:
    eng, worker = setup

    async def slowish(req: dict[str, Any]) -> Any:
        await asyncio.sleep(0.5)
        return {"body": "done"}

    _route(worker, "d::route_timeout", slowish, "/d/route-timeout", timeout_ms=200)
    response = wait_route(eng.base, "GET", "/d/route-timeout")
    assert response.status_code == 504 and response.json()["error"]["code"] == "TIMEOUT"
