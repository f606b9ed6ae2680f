"""HTTP triggers registered by the official Python iii-sdk, driven by real HTTP requests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.http.support import HttpEngine, wait_route
from tests.support.waiting import eventually_sync


def _route(worker: Any, function_id: str, handler: Any, api_path: str, method: str = "GET",
           **config: Any) -> Any:
    worker.register_function(function_id, handler)
    return worker.register_trigger({"type": "http", "function_id": function_id,
                                    "config": {"api_path": api_path, "http_method": method, **config}})


def test_params_query_json_body_and_request_object(http_engine: HttpEngine, worker: Any) -> None:
    def echo(req: dict[str, Any]) -> dict[str, Any]:
        return {"status_code": 201, "body": {k: req[k] for k in ("path_params", "query_params", "body", "path",
                                                                 "method", "trigger")}
                | {"ct": req["headers"].get("content-type")}}

    _route(worker, "t::echo", echo, "orgs/:org/users/{id}", "POST")
    response = wait_route(http_engine.base, "POST", "/orgs/acme/users/42?q=x&q=y&e=%20s", json={"a": [1, 2]})
    assert response.status_code == 201
    assert response.json() == {
        "path_params": {"org": "acme", "id": "42"},
        "query_params": {"q": ["x", "y"], "e": " s"},  # a repeated key is a list (docs/compatibility.md)
        "body": {"a": [1, 2]},
        "path": "/orgs/:org/users/{id}",
        "method": "POST",
        "trigger": {"type": "http", "path": "/orgs/:org/users/{id}", "method": "POST"},
        "ct": "application/json",
    }


def test_non_json_body_arrives_through_the_request_body_channel(http_engine: HttpEngine, worker: Any) -> None:
    async def upload(req: dict[str, Any]) -> dict[str, Any]:
        data = await req["request_body"].read_all()
        return {"status_code": 200, "body": {"size": len(data), "json_body": req["body"], "head": data[:5].decode()}}

    _route(worker, "t::upload", upload, "/upload", "PUT")
    wait_route(http_engine.base, "PUT", "/upload", content=b"x")
    payload = b"hello" + bytes(range(256)) * 2000  # ~500 kB, many channel frames
    binary = {"content-type": "application/octet-stream"}
    response = httpx.put(http_engine.base + "/upload", content=payload, headers=binary)
    assert response.json() == {"size": len(payload), "json_body": None, "head": "hello"}

    def chunks() -> Any:  # chunked transfer encoding: no Content-Length
        for _ in range(50):
            yield b"a" * 10_000

    response = httpx.put(http_engine.base + "/upload", content=chunks())
    assert response.json()["size"] == 500_000


def test_status_code_spellings_headers_and_bodies(http_engine: HttpEngine, worker: Any) -> None:
    _route(worker, "t::camel", lambda req: {"statusCode": 202, "headers": ["X-List: yes", "bad"], "body": "ok"},
           "/camel")
    _route(worker, "t::text", lambda req: {"status_code": 200, "headers": {"Content-Type": "text/plain"},
                                           "body": "plain text"}, "/text")
    _route(worker, "t::empty", lambda req: {"status_code": 204, "body": None}, "/empty")
    _route(worker, "t::inject", lambda req: {"headers": {"X-Evil": "a\r\nSet-Cookie: x=1", "Content-Length": "1"},
                                             "body": {"safe": True}}, "/inject")
    response = wait_route(http_engine.base, "GET", "/camel")
    assert (response.status_code, response.headers["x-list"], response.json()) == (202, "yes", "ok")
    response = wait_route(http_engine.base, "GET", "/text")
    assert (response.headers["content-type"], response.text) == ("text/plain", "plain text")
    response = wait_route(http_engine.base, "GET", "/empty")
    assert (response.status_code, response.content) == (204, b"")
    response = wait_route(http_engine.base, "GET", "/inject")
    assert "set-cookie" not in response.headers and "x-evil" not in response.headers
    assert response.json() == {"safe": True}


def test_streamed_response_through_the_response_channel(http_engine: HttpEngine, worker: Any) -> None:
    async def stream(req: dict[str, Any]) -> None:
        out = req["response"]
        await out.send_message_async('{"type":"set_status","status_code":207}')
        await out.send_message_async('{"type":"set_headers","headers":{"x-streamed":"1","content-type":"text/csv"}}')
        for i in range(100):
            await out.write(f"row {i}\n".encode() * 100)
        await out.close_async()
        return None

    _route(worker, "t::stream", stream, "/stream")
    response = wait_route(http_engine.base, "GET", "/stream")
    assert response.status_code == 207
    assert response.headers["x-streamed"] == "1" and response.headers["transfer-encoding"] == "chunked"
    lines = response.text.splitlines()
    assert len(lines) == 10_000 and lines[0] == "row 0" and lines[-1] == "row 99"


def test_not_found_method_not_allowed_and_head(http_engine: HttpEngine, worker: Any) -> None:
    _route(worker, "t::item", lambda req: {"status_code": 200, "body": {"id": req["path_params"]["id"]}},
           "/items/:id")
    wait_route(http_engine.base, "GET", "/items/1")
    response = httpx.get(http_engine.base + "/nothing/here")
    assert (response.status_code, response.json()) == (404, {"error": {"code": "NOT_FOUND", "message": "Not Found"}})
    response = httpx.delete(http_engine.base + "/items/1")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    response = httpx.head(http_engine.base + "/items/7")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(b'{"id":"7"}')


def test_static_segments_win_over_params_with_backtracking(http_engine: HttpEngine, worker: Any) -> None:
    _route(worker, "t::me", lambda req: {"body": "me"}, "/people/me")
    _route(worker, "t::person_posts", lambda req: {"body": ["posts", req["path_params"]["pid"]]},
           "/people/:pid/posts")
    _route(worker, "t::person", lambda req: {"body": ["person", req["path_params"]["pid"]]}, "/people/:pid")
    wait_route(http_engine.base, "GET", "/people/x")
    assert httpx.get(http_engine.base + "/people/me").json() == "me"
    assert httpx.get(http_engine.base + "/people/bob").json() == ["person", "bob"]
    assert httpx.get(http_engine.base + "/people/me/posts").json() == ["posts", "me"]
    assert httpx.get(http_engine.base + "/people/").status_code == 404


def test_routes_added_and_removed_at_run_time_and_conflicts(http_engine: HttpEngine, worker: Any) -> None:
    trigger = _route(worker, "t::dyn", lambda req: {"body": req["path_params"]}, "/dyn/:id")
    assert wait_route(http_engine.base, "GET", "/dyn/5").json() == {"id": "5"}
    # Same shape, another parameter name, same method: refused; the first keeps serving.
    worker.register_trigger({"type": "http", "function_id": "t::dyn",
                             "config": {"api_path": "/dyn/:other", "http_method": "GET"}})
    _route(worker, "t::dyn_post", lambda req: {"body": "posted"}, "/dyn/:id", "POST")
    assert wait_route(http_engine.base, "POST", "/dyn/6").json() == "posted"
    assert httpx.get(http_engine.base + "/dyn/7").json() == {"id": "7"}
    assert "conflicts with already-registered route" in http_engine.proc.logs()
    trigger.unregister()
    # GET is gone; POST on the same path still serves, so GET is now a 405.
    eventually_sync(lambda: httpx.get(http_engine.base + "/dyn/5").status_code == 405, 10, 0.05,
                    what="the unregistered GET route to answer 405")
    assert httpx.post(http_engine.base + "/dyn/5").json() == "posted"
