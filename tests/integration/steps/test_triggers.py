"""Every trigger helper, schemas, conditions, middleware and handler shapes against a real engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pyiii.steps.steps_runner import StepsRunner
from tests.integration.steps.support import StepsEngine, running, steps_engine
from tests.support.project import write_project
from tests.support.waiting import eventually_sync

FILES = {
    "steps/orders/models.py": """
        from pydantic import BaseModel

        class Order(BaseModel):
            item: str
            quantity: int
    """,
    # async, 2 args, pydantic body schema, relative import, enqueue through ctx
    "steps/orders/create_order_step.py": """
        from pyiii.steps import ApiRequest, ApiResponse, FlowContext, http
        from .models import Order

        config = {
            "name": "CreateOrder",
            "description": "take an order",
            "triggers": [http("POST", "/orders", body_schema=Order)],
            "enqueues": ["order.created"],
            "flows": ["orders"],
        }

        async def handler(request: ApiRequest, ctx: FlowContext) -> ApiResponse:
            order: Order = request.body
            await ctx.enqueue({"topic": "order.created", "data": {"id": "o1", **order.model_dump()}})
            return ApiResponse(201, {"ok": True, "item": order.item, "trace": ctx.trace_id})
    """,
    # sync, 2 args, queue with input schema; blocking services
    "steps/orders/store_order_step.py": """
        from pyiii.steps import queue

        config = {
            "name": "StoreOrder",
            "triggers": [queue("order.created", input={"type": "object", "required": ["id"]},
                               config={"max_retries": 2, "backoffDelayMs": 50})],
            "flows": ["orders"],
        }

        def handler(order, ctx):
            ctx.state.set("orders", order["id"], order)
            ctx.logger.info("stored", {"id": order["id"]})
    """,
    # sync, 1 arg, state trigger filtered by scope; module-level services (G2b)
    "steps/orders/audit_step.py": """
        from pyiii.steps import state, stateManager

        config = {"name": "Audit", "triggers": [state(scope="orders")]}

        def handler(event):
            assert event.group_id == event["scope"] == "orders"
            stateManager.set("audit", event.item_id, {"event": event.event_type, "value": event.new_value})
    """,
    # async, 1 arg, stream trigger; awaited module-level services (G2a)
    "steps/live/on_stream_step.py": """
        from pyiii.steps import stateManager, stream

        config = {"name": "OnStream", "triggers": [stream("feed", group_id="g1")]}

        async def handler(event):
            await stateManager.set("stream-seen", event.id, {"type": event.event.type, "data": event.event.data,
                                                            "stream": event.stream_name})
    """,
    "steps/live/feed_stream.py": """
        config = {"name": "feed", "schema": {"type": "object"}}
    """,
    # 0 args, GET with path params? no: 0-arg handler answers a constant
    "steps/misc/ping_step.py": """
        from pyiii.steps import http

        config = {"name": "Ping", "triggers": [http("GET", "/ping")]}

        def handler():
            return {"status": 200, "body": {"pong": True}}
    """,
    # path params, query params, statusCode spelling, middleware (sync + async), ctx extra attribute
    "steps/misc/hello_step.py": """
        from pyiii.steps import http

        def auth(request, ctx, next):
            if request.headers.get("authorization") != "Bearer ok":
                return {"status": 401, "body": {"error": "unauthorized"}}
            ctx.user = {"name": "ann"}
            return next()

        async def timing(request, ctx, next):
            response = await next()
            response["headers"]["x-mw"] = "yes"
            return response

        config = {"name": "Hello", "triggers": [http("GET", "/hello/:name", middleware=[auth, timing])]}

        async def handler(req, ctx):
            return {"statusCode": 202, "headers": {"x-user": ctx.user["name"]},
                    "body": {"hello": req.path_params["name"], "q": req.query_params.get("q"),
                             "g2": req.request.path_params["name"]}}
    """,
    # condition: only big orders
    "steps/misc/big_step.py": """
        from pyiii.steps import http

        def is_big(request, ctx):
            return (request.body or {}).get("quantity", 0) > 10

        config = {"name": "Big", "triggers": [http("POST", "/big", condition=is_big)]}

        def handler(request):
            return {"status": 200, "body": {"big": True}}
    """,
    # cron: 1-arg cron handler gets ctx (Motia 0.x style)
    "steps/misc/tick_step.py": """
        from pyiii.steps import cron

        config = {"name": "Tick", "triggers": [cron("* * * * * *")]}

        async def handler(ctx):
            assert ctx.is_cron()
            await ctx.state.update("ticks", "count", [{"type": "increment", "path": "n", "by": 1}])
    """,
    # cron: 2-arg cron handler gets (None, ctx) (Motia 1.0 style)
    "steps/misc/tock_step.py": """
        from pyiii.steps import cron

        config = {"name": "Tock", "triggers": [cron("* * * * * *")]}

        async def handler(_input, ctx):
            assert _input is None and ctx.is_cron()
            await ctx.state.update("ticks", "tock", [{"type": "increment", "path": "n", "by": 1}])
    """,
    # state.clear() both ways: sync (blocking) and async (awaited)
    "steps/misc/clear_step.py": """
        from pyiii.steps import http

        config = {"name": "Clear", "triggers": [http("POST", "/clear/sync"), http("POST", "/clear/async")]}

        def sync_clear(ctx):
            ctx.state.set("tmp-sync", "a", {"id": "a"})
            ctx.state.set("tmp-sync", "k", 5)  # no id: found through the keys this process wrote
            deleted = ctx.state.clear("tmp-sync")
            return {"status": 200, "body": {"deleted": deleted, "left": ctx.state.list("tmp-sync")}}

        async def async_clear(ctx):
            await ctx.state.set("tmp-async", "a", {"id": "a"})
            ctx.state.set("tmp-async", "k", 5)  # not awaited: still performed, in order
            deleted = await ctx.state.clear("tmp-async")
            return {"status": 200, "body": {"deleted": deleted, "left": await ctx.state.list("tmp-async")}}

        def handler(request, ctx):
            if request.path.endswith("sync") and not request.path.endswith("async"):
                return sync_clear(ctx)
            return ctx.match({"http": lambda _r: async_clear(ctx)})
    """,
    "steps/misc/not_a_step.py": "X = 1\n",
    "steps/misc/broken_step.py": "config = {'name': 'Broken', 'triggers': [{'type': 'nope'}]}\ndef handler(): pass\n",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StepsEngine, StepsRunner, Any]]:
    root = tmp_path_factory.mktemp("steps-app")
    project = write_project(root / "project", FILES)
    (root / "engine").mkdir()
    with steps_engine(root / "engine") as eng, running(project, eng.proc.url) as (runner, report):
        eventually_sync(lambda: httpx.get(f"{eng.base}/ping").status_code == 200)
        yield eng, runner, report


def get_state(runner: StepsRunner, scope: str, key: str) -> Any:
    assert runner.client is not None
    return runner.client.trigger({"function_id": "state::get", "payload": {"scope": scope, "key": key}})


def test_discovery_reports_steps_streams_and_errors(app: Any) -> None:
    _, runner, report = app
    assert report.steps == 10
    assert report.streams == 1
    assert any("broken_step.py" in e and "unknown trigger type" in e for e in report.errors)
    assert set(runner.streams) == {"feed"}


def test_http_body_schema_converts_and_queue_state_chain(app: Any) -> None:
    eng, runner, _ = app
    r = httpx.post(f"{eng.base}/orders", json={"item": "book", "quantity": 2})
    assert r.status_code == 201, r.text
    assert r.json()["ok"] is True and r.json()["item"] == "book"
    stored = eventually_sync(lambda: get_state(runner, "orders", "o1"))
    assert stored == {"id": "o1", "item": "book", "quantity": 2}
    audit = eventually_sync(lambda: get_state(runner, "audit", "o1"))
    assert audit["event"] in ("state:created", "state:updated") and audit["value"]["item"] == "book"


def test_http_body_schema_violation_is_400_naming_the_field(app: Any) -> None:
    eng, _, _ = app
    r = httpx.post(f"{eng.base}/orders", json={"item": "book", "quantity": "many"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "INVALID_BODY" and [e["path"] for e in error["details"]] == ["quantity"]
    assert set(r.json()) == {"error"} and set(error) == {"code", "message", "details"}
    r = httpx.post(f"{eng.base}/orders", json={"quantity": 1})
    assert r.status_code == 400 and [e["path"] for e in r.json()["error"]["details"]] == ["item"]


def test_a_body_that_is_not_json_or_has_no_content_type_is_named(app: Any) -> None:
    eng, _, _ = app
    r = httpx.post(f"{eng.base}/orders", content=b'{"item": "book",', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"error": {"code": "BODY_NOT_JSON", "message": "the request body is not valid JSON"}}
    r = httpx.post(f"{eng.base}/orders", content=b'{"item": "book", "quantity": 1}')  # no Content-Type
    assert r.status_code == 415
    error = r.json()["error"]
    assert error["code"] == "MISSING_CONTENT_TYPE" and "Content-Type: application/json" in error["message"]
    r = httpx.post(f"{eng.base}/orders", content=b'{"item": "book", "quantity": 1}',
                   headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "got 'text/plain'" in r.json()["error"]["message"]
    r = httpx.post(f"{eng.base}/orders", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "MISSING_BODY"


def test_zero_arg_sync_handler(app: Any) -> None:
    eng, _, _ = app
    r = httpx.get(f"{eng.base}/ping")
    assert r.status_code == 200 and r.json() == {"pong": True}


def test_middleware_path_and_query_params_and_statuscode(app: Any) -> None:
    eng, _, _ = app
    assert httpx.get(f"{eng.base}/hello/bob").status_code == 401
    r = httpx.get(f"{eng.base}/hello/bob?q=1", headers={"authorization": "Bearer ok"})
    assert r.status_code == 202, r.text
    assert r.json() == {"hello": "bob", "q": "1", "g2": "bob"}
    assert r.headers["x-user"] == "ann" and r.headers["x-mw"] == "yes"


def test_condition_function_gates_the_handler(app: Any) -> None:
    eng, _, _ = app
    assert httpx.post(f"{eng.base}/big", json={"quantity": 50}).json() == {"big": True}
    r = httpx.post(f"{eng.base}/big", json={"quantity": 1})
    assert r.status_code == 422


def test_stream_trigger_gets_envelope_with_both_spellings(app: Any) -> None:
    _, runner, _ = app
    runner.client.trigger({"function_id": "stream::set", "payload": {
        "stream_name": "feed", "group_id": "g1", "item_id": "i1", "data": {"v": 1}}})
    runner.client.trigger({"function_id": "stream::set", "payload": {
        "stream_name": "feed", "group_id": "other", "item_id": "i2", "data": {"v": 2}}})
    seen = eventually_sync(lambda: get_state(runner, "stream-seen", "i1"))
    assert seen == {"type": "create", "data": {"v": 1}, "stream": "feed"}
    assert get_state(runner, "stream-seen", "i2") is None  # group filter


def test_cron_step_runs(app: Any) -> None:
    _, runner, _ = app
    assert eventually_sync(lambda: (get_state(runner, "ticks", "count") or {}).get("n", 0) >= 1, timeout=5)
    assert eventually_sync(lambda: (get_state(runner, "ticks", "tock") or {}).get("n", 0) >= 1, timeout=5)


def test_function_metadata_describes_the_flow(app: Any) -> None:
    _, runner, _ = app
    functions = runner.client.trigger({"function_id": "engine::functions::list", "payload": {"include_internal": True}})
    items = functions.get("functions", functions) if isinstance(functions, dict) else functions
    by_id = {f.get("function_id", f.get("id")): f for f in items}
    create = by_id["steps::CreateOrder::trigger::http(POST /orders)"]
    meta = create["metadata"]
    assert meta["filePath"] == "steps/orders/create_order_step.py"
    assert meta["flows"] == ["orders"] and meta["enqueues"] == [{"topic": "order.created"}]
    assert meta["triggers"][0]["bodySchema"]["properties"]["quantity"]["type"] == "integer"
    assert "steps::StoreOrder::trigger::queue(order.created)" in by_id
    assert "steps::Big::trigger::http(POST /big)::conditions::0" in by_id


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_state_clear_deletes_every_key(app: Any, mode: str) -> None:
    eng, _, _ = app
    r = httpx.post(f"{eng.base}/clear/{mode}")
    assert r.status_code == 200, r.text
    assert r.json() == {"deleted": 2, "left": []}
