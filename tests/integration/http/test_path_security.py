"""Path and method tricks never reach a route they should not (faults F10, HTTP part)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http.support import HttpEngine, get, raw_request, wait_route


@pytest.fixture(scope="module")
def guarded(http_engine: HttpEngine, worker: Any) -> Iterator[tuple[int, list[str]]]:
    """/admin needs `x-token: secret` (route middleware); /public/:file echoes its parameter."""
    reached: list[str] = []

    def auth(data: dict[str, Any]) -> Any:
        if data["request"]["headers"].get("x-token") == "secret":
            return {"action": "continue"}
        return {"action": "respond", "response": {"status_code": 403, "body": {"error": "forbidden"}}}

    def admin(data: dict[str, Any]) -> Any:
        reached.append(data["method"])
        return {"body": "admin area"}

    worker.register_function("sec::auth", auth)
    worker.register_function("sec::admin", admin)
    worker.register_function("sec::delete", lambda data: reached.append("DELETE-handler") or {"body": "deleted"})
    worker.register_function("sec::public", lambda data: {"body": data["path_params"]})
    for method, fid in (("GET", "sec::admin"), ("POST", "sec::admin"), ("DELETE", "sec::delete")):
        worker.register_trigger({"type": "http", "function_id": fid, "config": {
            "api_path": "/admin", "http_method": method, "middleware_function_ids": ["sec::auth"]}})
    worker.register_trigger({"type": "http", "function_id": "sec::public",
                             "config": {"api_path": "/public/:file"}})
    wait_route(http_engine.base, "GET", "/public/x")
    wait_route(http_engine.base, "GET", "/admin")
    yield http_engine.http_port, reached


@pytest.mark.parametrize("target", [
    "/public/../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin",
    "/public/..%2fadmin", "/public/..%5cadmin", "/public/%2e%2e%2fadmin", "/./admin", "/public/.",
    "/public/%00", "/public/..",
])
def test_dot_segments_are_refused(guarded: tuple[int, list[str]], target: str) -> None:
    port, reached = guarded
    status, body = get(port, target)
    assert status == 400, (target, body)
    assert b"INVALID_PATH" in body
    assert not reached


@pytest.mark.parametrize("target", ["//admin", "/admin/", "/ADMIN", "/%61dmin", "/admin;x", "/admin%2f",
                                    "/public//", "/public/"])
def test_look_alike_paths_reach_nothing(guarded: tuple[int, list[str]], target: str) -> None:
    port, reached = guarded
    status, _ = get(port, target, headers={"x-token": "secret"})
    assert status == 404, target
    assert not reached


def test_absolute_form_and_query_tricks_still_pass_the_middleware(guarded: tuple[int, list[str]]) -> None:
    port, reached = guarded
    assert get(port, "http://127.0.0.1/admin")[0] == 403
    assert get(port, "/admin?/public/x")[0] == 403
    assert get(port, "/admin#/public/x")[0] in (400, 403)
    assert not reached


def test_head_runs_the_get_pipeline_including_middleware(guarded: tuple[int, list[str]]) -> None:
    port, reached = guarded
    status, body = get(port, "/admin", method="HEAD")
    assert (status, body) == (403, b"")
    assert not reached
    status, body = get(port, "/admin", method="HEAD", headers={"x-token": "secret"})
    assert (status, body) == (200, b"")
    assert reached == ["HEAD"]
    reached.clear()


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
def test_method_override_headers_do_not_change_routing(guarded: tuple[int, list[str]], header: str) -> None:
    port, reached = guarded
    status, body = get(port, "/admin", method="POST", headers={header: "DELETE", "x-token": "secret",
                                                               "content-length": "0"})
    assert (status, body) == (200, b'"admin area"')
    assert reached == ["POST"]  # the POST handler ran, never the DELETE one
    reached.clear()
    status, _ = get(port, "/public/x", method="POST", headers={header: "GET", "content-length": "0"})
    assert status == 405


def test_malformed_requests_get_400_and_the_server_keeps_serving(guarded: tuple[int, list[str]]) -> None:
    port, _ = guarded
    status, _, body = raw_request(port, b"GARBAGE\r\n\r\n")
    assert status == 400 and b"BAD_REQUEST" in body
    status, _, body = raw_request(port, b"GET /public/x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n")
    assert status == 400
    status, _, body = raw_request(port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 414
    assert get(port, "/public/ok")[0] == 200


def test_keep_alive_and_pipelined_requests_answer_in_order(guarded: tuple[int, list[str]]) -> None:
    import socket

    port, _ = guarded
    requests = b"".join(f"GET /public/f{i} HTTP/1.1\r\nHost: a\r\n\r\n".encode() for i in range(5))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(requests)
        data = b""
        while data.count(b"HTTP/1.1 200") < 5 or not data.endswith(b'"f4"}'):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    bodies = [part for part in data.split(b"\r\n\r\n")[1:]]
    assert [b.split(b"HTTP/1.1")[0] for b in bodies] == [f'{{"file":"f{i}"}}'.encode() for i in range(5)]
