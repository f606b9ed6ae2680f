"""A Motia 1.0 Python project whose step files are Motia files byte for byte
(``from motia import http, queue, ApiRequest, ApiResponse, FlowContext``, no edit at all) served by
pyiii's Steps runner against a real engine process: every route, the queue chain, state, a cron,
a stream and a stream trigger, ``ctx.trace_id``/``ctx.traceId``, repeated query parameters, both
middleware forms (allow and deny), and noop steps drawn in Flows with their virtual edges.
Then the other side: with a real ``motia`` package importable, the step files get that one."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyiii.console import flows
from pyiii.steps.steps_runner import StepsRunner
from tests.integration.steps.support import StepsEngine, running, steps_engine
from tests.support.project import write_project
from tests.support.waiting import eventually

CREATE_ORDER = '''
from typing import Any

from pydantic import BaseModel

from motia import ApiRequest, ApiResponse, FlowContext, http


class OrderBody(BaseModel):
    item: str
    quantity: int


async def log_request(request: ApiRequest[Any], ctx: FlowContext[Any], next):
    ctx.logger.info("order request", {"path": "/orders"})
    response = await next()
    response.headers["x-motia-middleware"] = "seen"
    return response


config = {
    "name": "CreateOrder",
    "description": "Create an order and hand it to the queue",
    "triggers": [http("POST", "/orders", body_schema=OrderBody, middleware=[log_request])],
    "enqueues": ["order.created"],
    "flows": ["orders"],
}


async def handler(request: ApiRequest[OrderBody], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    body = request.body
    order = {"id": f"{body.item}-{body.quantity}", "item": body.item, "quantity": body.quantity,
             "trace_id": ctx.trace_id}
    await ctx.state.set("orders", order["id"], order)
    await ctx.enqueue({"topic": "order.created", "data": order})
    ctx.logger.info("Order created", {"order": order})
    return ApiResponse(status=201, body=order)
'''

GET_ORDER = '''
from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, QueryParam, http


def require_auth(request: ApiRequest[Any]) -> bool:
    return request.headers.get("authorization") == "Bearer secret"


async def add_header(request: ApiRequest[Any], ctx: FlowContext[Any], next):
    response = await next()
    response.headers["x-checked"] = "yes"
    return response


config = {
    "name": "GetOrder",
    "triggers": [
        http("GET", "/orders/:id", middleware=[require_auth, add_header],
             query_params=[QueryParam(name="tag", description="a tag; repeat it for several")]),
    ],
    "flows": ["orders"],
}


async def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    await ctx.state.set("reads", request.path_params["id"], {"read": True})
    order = await ctx.state.get("orders", request.path_params["id"])
    if order is None:
        return ApiResponse(status=404, body={"error": "Order not found"})
    return ApiResponse(status=200, body={"order": order, "tag": request.query_params.get("tag")})
'''

PROCESS_ORDER = '''
from typing import Any

from motia import FlowContext, queue

config = {
    "name": "ProcessOrder",
    "triggers": [
        queue("order.created", input={"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
    ],
    "enqueues": ["order.processed"],
    "flows": ["orders"],
}


async def handler(input_data: Any, ctx: FlowContext[Any]) -> None:
    await ctx.state.set("processed", input_data["id"], {"status": "processed", "trace_id": ctx.trace_id})
    await ctx.enqueue({"topic": "order.processed", "data": {"id": input_data["id"]}})
'''

NOTIFY = '''
from typing import Any

from motia import FlowContext, Stream, queue, stateManager

order_status = Stream("orderStatus")

config = {
    "name": "NotifyCustomer",
    "triggers": [queue("order.processed")],
    "flows": ["orders"],
}


async def handler(input_data: Any, ctx: FlowContext[Any]) -> None:
    await order_status.set("orders", input_data["id"], {"id": input_data["id"], "status": "notified"})
    await stateManager.set("notifications", input_data["id"], {"sent": True})
'''

ORDER_STATUS_STREAM = '''
config = {
    "name": "orderStatus",
    "schema": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}}},
    "baseConfig": {"storageType": "default"},
}
'''

STATUS_WATCH = '''
from typing import Any

from motia import FlowContext, stream

config = {
    "name": "WatchOrderStatus",
    "triggers": [stream("orderStatus", group_id="orders")],
    "flows": ["orders"],
}


async def handler(input_data: Any, ctx: FlowContext[Any]) -> None:
    await ctx.state.set("status-events", input_data["id"], input_data["event"])
'''

HEARTBEAT = '''
from typing import Any

from motia import FlowContext, cron

config = {
    "name": "Heartbeat",
    "description": "Every second",
    "triggers": [cron("* * * * * *")],
    "flows": ["ops"],
}


async def handler(input_data: None, ctx: FlowContext[Any]) -> None:
    await ctx.state.set("heartbeat", "last", {"trigger": ctx.trigger.type, "input": input_data})
'''

TRACE = '''
from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, http

config = {"name": "Trace", "triggers": [http("GET", "/trace")], "flows": ["ops"]}


async def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(status=200, body={"trace_id": ctx.trace_id, "traceId": getattr(ctx, "traceId", None)})
'''

# Motia's code-less visual steps: the 0.x `type: "noop"` form the 1.0 docs still show, and a
# 1.0 config with no triggers.
MANUAL_REVIEW = '''
config = {
    "type": "noop",
    "name": "ManualReview",
    "description": "A person checks the order",
    "virtualSubscribes": ["order.processed"],
    "virtualEnqueues": ["order.reviewed"],
    "flows": ["orders"],
}
'''

ARCHIVE = '''
config = {
    "name": "ArchiveOrder",
    "description": "The warehouse system archives it",
    "triggers": [],
    "virtual_subscribes": ["order.reviewed"],
    "flows": ["orders"],
}
'''

FILES = {
    "steps/orders/create_order_step.py": CREATE_ORDER,
    "steps/orders/get_order_step.py": GET_ORDER,
    "steps/orders/process_order_step.py": PROCESS_ORDER,
    "steps/orders/notify_customer_step.py": NOTIFY,
    "steps/orders/order_status_stream.py": ORDER_STATUS_STREAM,
    "steps/orders/watch_order_status_step.py": STATUS_WATCH,
    "steps/orders/manual_review_step.py": MANUAL_REVIEW,
    "steps/orders/archive_order_step.py": ARCHIVE,
    "src/ops/heartbeat_step.py": HEARTBEAT,
    "src/ops/trace_step.py": TRACE,
}

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
AUTH = {"authorization": "Bearer secret"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StepsEngine, StepsRunner, Path]]:
    root = tmp_path_factory.mktemp("motia-unchanged")
    project = write_project(root / "project", FILES)
    (root / "engine").mkdir()
    with steps_engine(root / "engine") as eng, running(project, eng.proc.url) as (runner, report):
        assert report.errors == []
        assert (report.steps, report.streams) == (9, 1)
        yield eng, runner, project


def state(runner: StepsRunner, scope: str, key: str) -> Any:
    assert runner.client is not None
    return runner.client.trigger({"function_id": "state::get", "payload": {"scope": scope, "key": key}})


async def route_ready(eng: StepsEngine, method: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=eng.base, timeout=10) as client:
        async def probe() -> httpx.Response | None:
            r = await client.request(method, path, **kw)
            return r if r.status_code != 404 else None  # 404: the route is not bound yet
        result: httpx.Response = await eventually(probe, what=f"{method} {path} served")
        return result


def test_the_step_files_are_motia_files(app: Any) -> None:
    _, _, project = app
    for rel in FILES:
        source = (project / rel).read_text()
        assert "pyiii" not in source, rel
        if "import" in source:
            assert "from motia import" in source, rel


async def test_http_queue_chain_state_and_stream(app: Any) -> None:
    eng, runner, _ = app
    r = await route_ready(eng, "POST", "/orders", json={"item": "book", "quantity": 2},
                          headers={"traceparent": TRACEPARENT})
    assert r.status_code == 201
    assert r.json() == {"id": "book-2", "item": "book", "quantity": 2, "trace_id": TRACE_ID}
    assert r.headers["x-motia-middleware"] == "seen"  # the (req, ctx, next) middleware wrapped the response
    assert state(runner, "orders", "book-2")["item"] == "book"
    # order.created -> ProcessOrder -> order.processed -> NotifyCustomer -> stream -> WatchOrderStatus
    processed = await eventually(lambda: state(runner, "processed", "book-2"), what="ProcessOrder ran")
    assert processed == {"status": "processed", "trace_id": TRACE_ID}  # the trace follows the queue
    notified = await eventually(lambda: state(runner, "notifications", "book-2"), what="NotifyCustomer ran")
    assert notified == {"sent": True}
    assert runner.client is not None
    item = runner.client.trigger({"function_id": "stream::get", "payload": {
        "stream_name": "orderStatus", "group_id": "orders", "item_id": "book-2"}})
    assert item == {"id": "book-2", "status": "notified"}
    event = await eventually(lambda: state(runner, "status-events", "book-2"), what="stream trigger fired")
    assert event["type"] == "create" and event["data"]["status"] == "notified"


async def test_body_schema_is_validated(app: Any) -> None:
    eng, _, _ = app
    r = await route_ready(eng, "POST", "/orders", json={"item": "book"})
    assert r.status_code == 400 and "quantity" in r.text


async def test_guard_middleware_denies_and_allows(app: Any) -> None:
    eng, runner, _ = app
    runner.client.trigger({"function_id": "state::set", "payload": {
        "scope": "orders", "key": "pen-1", "value": {"id": "pen-1", "item": "pen"}}})
    denied = await route_ready(eng, "GET", "/orders/pen-1")
    assert denied.status_code == 401 and denied.json() == {"error": "Unauthorized"}
    assert "x-checked" not in denied.headers
    assert state(runner, "reads", "pen-1") is None  # the handler never ran
    wrong = await route_ready(eng, "GET", "/orders/pen-1", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    allowed = await route_ready(eng, "GET", "/orders/pen-1", headers=AUTH)
    assert allowed.status_code == 200 and allowed.headers["x-checked"] == "yes"
    assert allowed.json()["order"]["item"] == "pen" and allowed.json()["tag"] is None
    assert state(runner, "reads", "pen-1") == {"read": True}


async def test_repeated_query_parameters_arrive_as_lists(app: Any) -> None:
    eng, runner, _ = app
    runner.client.trigger({"function_id": "state::set", "payload": {
        "scope": "orders", "key": "cup-3", "value": {"id": "cup-3", "item": "cup"}}})
    many = await route_ready(eng, "GET", "/orders/cup-3?tag=x&tag=y", headers=AUTH)
    assert many.json()["tag"] == ["x", "y"]
    one = await route_ready(eng, "GET", "/orders/cup-3?tag=x", headers=AUTH)
    assert one.json()["tag"] == "x"


async def test_trace_id_in_both_spellings(app: Any) -> None:
    eng, _, _ = app
    r = await route_ready(eng, "GET", "/trace", headers={"traceparent": TRACEPARENT})
    assert r.json() == {"trace_id": TRACE_ID, "traceId": TRACE_ID}
    fresh = (await route_ready(eng, "GET", "/trace")).json()
    assert fresh["trace_id"] == fresh["traceId"] and re.fullmatch(r"[0-9a-f]{32}", fresh["trace_id"])
    assert fresh["trace_id"] != TRACE_ID


async def test_cron_step_runs(app: Any) -> None:
    _, runner, _ = app
    beat = await eventually(lambda: state(runner, "heartbeat", "last"), what="cron fired")
    assert beat == {"trigger": "cron", "input": None}


def test_flows_draw_noop_steps_with_their_virtual_edges(app: Any) -> None:
    _, runner, _ = app
    assert runner.client is not None
    fns = runner.client.trigger({"function_id": "engine::functions::list", "payload": {"include_internal": True}})
    bindings = runner.client.trigger({"function_id": "engine::registered-triggers::list",
                                      "payload": {"include_internal": True}})
    data = flows.build(fns["functions"], bindings["registered_triggers"])
    orders = next(f for f in data["flows"] if f["id"] == "orders")
    nodes = {n["name"]: n for n in orders["nodes"]}
    assert nodes["ManualReview"]["type"] == "noop" and nodes["ArchiveOrder"]["type"] == "noop"
    assert nodes["ManualReview"]["functions"] == ["steps::ManualReview::noop"]
    assert {nodes[n]["type"] for n in ("CreateOrder", "GetOrder")} == {"http"}
    edges = {(e["from"], e["to"], e["topic"], e["virtual"]) for e in orders["edges"]}
    review, archive = nodes["ManualReview"]["id"], nodes["ArchiveOrder"]["id"]
    assert (nodes["ProcessOrder"]["id"], review, "order.processed", False) in edges  # into the noop
    assert (review, archive, "order.reviewed", True) in edges  # noop -> noop, a virtual edge
    assert (nodes["CreateOrder"]["id"], nodes["ProcessOrder"]["id"], "order.created", False) in edges


FAKE_REAL_MOTIA = '''
"""Stands in for the published motia package."""
def http(method, path, **kwargs):
    return {"type": "http", "method": method, "path": "/real-motia" + path}
'''

PING = '''
from motia import http

config = {"name": "RealMotiaPing", "triggers": [http("GET", "/ping")]}


async def handler(request, ctx):
    return {"status": 200, "body": {"pong": True}}
'''


def test_an_installed_motia_package_wins(app: Any, tmp_path: Path) -> None:
    """The runner in its own process, with a ``motia`` package on the path: the step file gets
    that package (its ``http`` prefixes the route), not pyiii's."""
    eng, _, _ = app
    site = tmp_path / "site"
    (site / "motia").mkdir(parents=True)
    (site / "motia" / "__init__.py").write_text(textwrap.dedent(FAKE_REAL_MOTIA))
    project = write_project(tmp_path / "project", {"steps/ping_step.py": PING})
    src = str(Path(__file__).resolve().parents[3] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(site)]), "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "steps.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pyiii.steps", "--project", str(project),
                                 "--url", eng.proc.url, "--name", "real-motia-steps"],  # the app's runner is "steps"
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            asyncio.run(served_by_the_real_package(eng))
            assert "installed `motia` package is used" in log_path.read_text()
        finally:
            proc.terminate()
            proc.wait(15)


async def served_by_the_real_package(eng: StepsEngine) -> None:
    r = await route_ready(eng, "GET", "/real-motia/ping")
    assert r.status_code == 200 and r.json() == {"pong": True}
    async with httpx.AsyncClient(base_url=eng.base) as client:
        assert (await client.get("/ping")).status_code == 404
