"""Middleware order and short-circuit, conditions, and every engine-generated error mapping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.http.support import HttpEngine, sdk_worker, wait_route

GLOBAL_MW = [{"function_id": "mw::global_b", "priority": 5}, {"function_id": "mw::global_a", "priority": 1},
             {"function_id": "mw::ignored", "phase": "onResponse"}]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpEngine, Any, list[str]]]:
    eng = HttpEngine(tmp_path_factory.mktemp("mw"),
                     {"middleware": GLOBAL_MW, "default_timeout": 1500, "max_body_bytes": 100_000,
                      "expose_errors": True}).start()  # these tests read the error text
    calls: list[str] = []

    def recorder(name: str, answer: Any = None) -> Any:
        def handler(data: dict[str, Any]) -> Any:
            calls.append(name)
            assert data["phase"] == "preHandler" and data["context"] == {}
            assert set(data["request"]) == {"path_params", "query_params", "headers", "method"}
            if data["request"]["headers"].get("x-deny") == name:
                return {"action": "respond", "response": {"status_code": 401, "body": {"denied_by": name},
                                                          "headers": {"www-authenticate": "Bearer"}}}
            return answer if answer is not None else {"action": "continue"}
        return handler

    def condition(data: dict[str, Any]) -> Any:
        calls.append("condition")
        assert "request_body" not in data and "response" not in data
        if data["query_params"].get("cond") == "error":
            raise RuntimeError("condition exploded")
        return data["query_params"].get("cond") != "false"

    def slow(data: dict[str, Any]) -> Any:
        time.sleep(3)
        return {"action": "continue"}

    def failing(data: dict[str, Any]) -> Any:
        raise ValueError("handler exploded")

    try:
        with sdk_worker(eng.proc.url) as w:
            for name in ("mw::global_a", "mw::global_b", "mw::route_1", "mw::route_2"):
                w.register_function(name, recorder(name))
            w.register_function("mw::weird", recorder("mw::weird", answer={"action": "dance"}))
            w.register_function("mw::slow", slow)
            w.register_function("cond::check", condition)

            def handler(data: dict[str, Any]) -> Any:
                calls.append("handler")
                return {"status_code": 200, "body": "done"}

            w.register_function("h::ok", handler)
            w.register_function("h::fail", failing)
            w.register_function("h::slow", lambda data: time.sleep(3) or {"body": "late"})
            triggers = [
                ("/guarded", "h::ok", {"condition_function_id": "cond::check",
                                       "middleware_function_ids": ["mw::route_1", "mw::weird", "mw::route_2"]}),
                ("/slow-mw", "h::ok", {"middleware_function_ids": ["mw::slow"]}),
                ("/missing-mw", "h::ok", {"middleware_function_ids": ["mw::does_not_exist"]}),
                ("/fail", "h::fail", {}),
                ("/slow", "h::slow", {"timeout_ms": 500}),
                ("/gone", "h::not_registered", {}),
                ("/post", "h::ok", {"http_method": "POST"}),
                ("/legacy-guarded", "h::ok", {"_condition_path": "cond::check"}),  # iii <= 0.8 / Motia rc24
            ]
            for path, fid, extra in triggers:
                config = {"api_path": path, "http_method": "GET", **extra}
                w.register_trigger({"type": "http", "function_id": fid, "config": config})
            wait_route(eng.base, "GET", "/guarded")
            wait_route(eng.base, "GET", "/gone")
            wait_route(eng.base, "GET", "/legacy-guarded")
            yield eng, w, calls
    finally:
        eng.stop()


def test_global_then_condition_then_route_middleware_in_order(setup: Any) -> None:
    eng, _, calls = setup
    calls.clear()
    response = httpx.get(eng.base + "/guarded")
    assert (response.status_code, response.json()) == (200, "done")
    assert calls == ["mw::global_a", "mw::global_b", "condition", "mw::route_1", "mw::weird", "mw::route_2",
                     "handler"]


def test_middleware_short_circuits(setup: Any) -> None:
    eng, _, calls = setup
    for denier, expected in [("mw::global_b", ["mw::global_a", "mw::global_b"]),
                             ("mw::route_1", ["mw::global_a", "mw::global_b", "condition", "mw::route_1"])]:
        calls.clear()
        response = httpx.get(eng.base + "/guarded", headers={"x-deny": denier})
        assert response.status_code == 401
        assert response.json() == {"denied_by": denier}
        assert response.headers["www-authenticate"] == "Bearer"
        assert calls == expected


def test_condition_false_and_condition_error(setup: Any) -> None:
    eng, _, calls = setup
    calls.clear()
    response = httpx.get(eng.base + "/guarded?cond=false")
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "CONDITION_NOT_MET", "message": "Request condition not met"},
                               "skipped": True}
    assert "handler" not in calls
    response = httpx.get(eng.base + "/guarded?cond=error")
    assert response.status_code == 500
    error = response.json()["error"]
    assert "condition exploded" in error["message"] and len(error["error_id"]) == 12


def test_legacy_condition_key_is_honoured(setup: Any) -> None:
    """Motia 1.0.0rc24 (the template's pin) sends `_condition_path`; iii 0.9+ ignored it and ran
    the handler unconditionally. pyiii reads it as `condition_function_id`."""
    eng, _, calls = setup
    calls.clear()
    response = httpx.get(eng.base + "/legacy-guarded?cond=false")
    assert response.status_code == 422 and "handler" not in calls
    calls.clear()
    response = httpx.get(eng.base + "/legacy-guarded")
    assert response.status_code == 200 and calls[-2:] == ["condition", "handler"]


def test_middleware_error_timeout_and_handler_errors(setup: Any) -> None:
    eng, _, _ = setup
    response = httpx.get(eng.base + "/slow-mw")
    assert (response.status_code, response.json()) == (
        504, {"error": {"code": "MIDDLEWARE_TIMEOUT", "message": "Middleware timeout"}})
    response = httpx.get(eng.base + "/missing-mw")
    assert response.status_code == 500 and response.json()["error"]["code"] == "function_not_found"
    response = httpx.get(eng.base + "/fail")
    assert response.status_code == 500
    assert "handler exploded" in response.json()["error"]["message"]
    response = httpx.get(eng.base + "/gone")
    assert response.status_code == 500 and response.json()["error"]["code"] == "function_not_found"
    response = httpx.get(eng.base + "/slow")
    assert response.status_code == 504 and response.json()["error"]["code"] == "TIMEOUT"


def test_body_limit_413_by_length_and_while_streaming(setup: Any) -> None:
    eng, _, _ = setup
    response = httpx.post(eng.base + "/post", content=b"x" * 100_001)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    def endless() -> Iterator[bytes]:
        for _ in range(1000):  # 10 MB if nobody stops it
            yield b"y" * 10_000

    try:
        # JSON: the pipeline reads the whole body before the handler, so the limit decides (a
        # handler that ignores a streamed body may rightly answer before the limit is crossed).
        response = httpx.post(eng.base + "/post", content=endless(), headers={"content-type": "application/json"})
        assert response.status_code == 413
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server may cut the upload before the client reads the 413; both refuse it
    response = httpx.post(eng.base + "/post", content=b"z" * 99_000)
    assert response.status_code == 200  # and the server keeps serving


def test_cors_permissive_by_default(setup: Any) -> None:
    eng, _, _ = setup
    response = httpx.options(eng.base + "/post", headers={"origin": "https://a.example",
                                                         "access-control-request-method": "POST",
                                                         "access-control-request-headers": "x-token"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-headers"] == "x-token"
    response = httpx.post(eng.base + "/post", headers={"origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_configured_origins(tmp_path: Path) -> None:
    eng = HttpEngine(tmp_path, {"cors": {"allowed_origins": ["https://good.example"], "allowed_methods": ["GET"]}})
    eng.start()
    try:
        with sdk_worker(eng.proc.url) as w:
            w.register_function("c::ok", lambda data: {"body": 1})
            w.register_trigger({"type": "http", "function_id": "c::ok", "config": {"api_path": "/c"}})
            wait_route(eng.base, "GET", "/c")
            good = httpx.get(eng.base + "/c", headers={"origin": "https://good.example"})
            assert good.headers["access-control-allow-origin"] == "https://good.example"
            bad = httpx.get(eng.base + "/c", headers={"origin": "https://evil.example"})
            assert "access-control-allow-origin" not in bad.headers
            preflight = httpx.options(eng.base + "/c", headers={"origin": "https://good.example",
                                                               "access-control-request-method": "DELETE"})
            assert "access-control-allow-methods" not in preflight.headers
    finally:
        eng.stop()
