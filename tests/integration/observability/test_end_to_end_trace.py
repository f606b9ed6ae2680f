"""Issue 6: HTTP request -> function -> publish -> subscriber -> state change -> stream update is
ONE trace, across official Python, official Node and pyiii.sdk workers (spec/protocol.md §8).

    POST /e2e/orders                          engine HTTP server span (parent: the request's traceparent)
    └ execute e2e::create_order               official Python SDK
      ├ call iii::durable::publish            engine (built-in)
      │ └ queue e2e.orders                    engine, queue consumer span (stored context)
      │   └ execute e2e::store_order          official Node SDK
      │     └ call state::set                 engine
      │       └ state_triggers                engine, state trigger delivery
      │         └ execute e2e::project_order  pyiii.sdk
      │           └ call stream::set          engine -> a WebSocket stream client sees it
      └ call publish                          engine (built-in)
        └ pubsub e2e.audit                    engine, pub/sub delivery
          └ execute e2e::audit                pyiii.sdk, fails
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyiii.w3c_trace import parse_baggage
from tests.integration.observability.support import call_until, node_worker, python_worker, result, stop
from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.wire import RawWorker, wait_function

EXPECTED_PARENTS = {
    "POST /e2e/orders": None,
    "execute e2e::create_order": "POST /e2e/orders",
    "call iii::durable::publish": "execute e2e::create_order",
    "queue e2e.orders": "call iii::durable::publish",
    "execute e2e::store_order": "queue e2e.orders",
    "call state::set": "execute e2e::store_order",
    "state_triggers": "call state::set",
    "execute e2e::project_order": "state_triggers",
    "call stream::set": "execute e2e::project_order",
    "call publish": "execute e2e::create_order",
    "pubsub e2e.audit": "call publish",
    "execute e2e::audit": "pubsub e2e.audit",
}
#: Invocation span -> (worker name, trigger type).
INVOCATIONS = {
    "execute e2e::create_order": ("e2e-py-http", "http"),
    "call iii::durable::publish": ("iii-queue", "call"),
    "execute e2e::store_order": ("e2e-node-sub", "durable:subscriber"),
    "call state::set": ("iii-state", "call"),
    "execute e2e::project_order": ("e2e-pyiii", "state"),
    "call stream::set": ("iii-stream", "call"),
    "call publish": ("iii-pubsub", "call"),
    "execute e2e::audit": ("e2e-pyiii", "subscribe"),
}


@dataclass
class Setup:
    engine: EngineProcess
    http_port: int
    stream_port: int


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    http_port, stream_port = free_port(), free_port()
    kv = {"name": "kv", "config": {"store_method": "in_memory"}}
    proc = EngineProcess(tmp_path_factory.mktemp("e2e"), workers=[
        {"name": "iii-observability", "config": {"enabled": True, "exporter": "memory", "logs_console_output": False}},
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        {"name": "iii-queue", "config": {"adapter": {"name": "memory"}}},
        {"name": "iii-pubsub", "config": {"adapter": {"name": "local"}}},
        {"name": "iii-state", "config": {"adapter": kv}},
        {"name": "iii-stream", "config": {"adapter": kv, "port": stream_port, "host": "127.0.0.1"}},
    ]).start()
    workers: list[subprocess.Popen[str]] = []
    try:
        wait_port(http_port)
        wait_port(stream_port)
        workers.append(python_worker("e2e_py_official_http.py", proc.url))
        workers.append(node_worker("e2e_node_official_subscriber.mjs", proc.url))
        workers.append(python_worker("e2e_pyiii_state.py", proc.url))
        yield Setup(proc, http_port, stream_port)
    finally:
        for w in workers:
            stop(w)
        proc.stop()


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node["children"]:
        yield from walk(child)


async def wait_triggers(client: RawWorker, *function_ids: str) -> None:
    for fid in function_ids:
        await wait_function(client, fid, timeout=10)
        await call_until(client, "engine::registered-triggers::list", {"function_id": fid},
                         lambda r: r["registered_triggers"])


async def test_http_publish_subscriber_state_stream_is_one_trace(setup: Setup) -> None:
    client = await RawWorker.connect(setup.engine.url)
    stream = await StreamClient.open(setup.stream_port)
    try:
        await wait_triggers(client, "e2e::create_order", "e2e::store_order", "e2e::project_order", "e2e::audit")
        await stream.join("s1", "e2e_orders", "all")
        assert (await stream.next())["event"]["type"] == "sync"

        trace_id, caller_span = uuid.uuid4().hex, "b" * 16
        order = {"id": f"o-{trace_id[:6]}", "qty": 2}
        async with httpx.AsyncClient() as http:
            response = await http.post(f"http://127.0.0.1:{setup.http_port}/e2e/orders", json=order, headers={
                "traceparent": f"00-{trace_id}-{caller_span}-01", "baggage": "tenant=acme"})
        assert response.status_code == 201 and response.json() == {"accepted": order["id"]}

        # The stream client sees the projection written at the end of the chain.
        update = await stream.next(timeout=15)
        assert update["streamName"] == "e2e_orders" and update["id"] == order["id"]
        assert update["event"] == {"type": "create", "data": order}

        # Everything reached the store as one trace: the HTTP span is its only root.
        tree = await call_until(client, "engine::traces::tree", {"trace_id": trace_id},
                                lambda t: set(EXPECTED_PARENTS) <= {s["name"] for r in t["roots"] for s in walk(r)},
                                timeout=15)
        assert [r["name"] for r in tree["roots"]] == ["POST /e2e/orders"]
        spans = list(walk(tree["roots"][0]))
        by_id = {s["span_id"]: s for s in spans}
        by_name = {s["name"]: s for s in spans}
        assert {s["trace_id"] for s in spans} == {trace_id}
        root = by_name["POST /e2e/orders"]
        assert root["parent_span_id"] == caller_span  # the request's traceparent parents it
        for span in spans:
            if span is not root:
                assert span["parent_span_id"] in by_id, f"{span['name']} has a parent outside the trace"
        for name, parent in EXPECTED_PARENTS.items():
            if parent is not None:
                assert by_id[by_name[name]["parent_span_id"]]["name"] == parent, name

        http_attrs = dict(root["attributes"])
        assert http_attrs["http.request.method"] == "POST" and http_attrs["http.route"] == "/e2e/orders"
        assert http_attrs["http.response.status_code"] == "201" and http_attrs["url.path"] == "/e2e/orders"
        assert http_attrs["iii.function.kind"] == "user" and root["status"] == "ok"
        queue_attrs = dict(by_name["queue e2e.orders"]["attributes"])
        assert queue_attrs["messaging.system"] == "iii-queue" and queue_attrs["attempt"] == "1"
        assert queue_attrs["messaging.destination.name"] == "e2e.orders"

        # One span per invocation: function id, worker, trigger type, duration, status.
        for name, (worker, trigger) in INVOCATIONS.items():
            span = by_name[name]
            fields = dict(span["attributes"])
            assert fields["iii.function.id"] == name.split(" ", 1)[1], name
            assert fields["iii.worker.name"] == worker, name
            assert fields["iii.trigger.type"] == trigger, name
            assert span["end_time_unix_nano"] > span["start_time_unix_nano"], name
            assert span["status"] in ("ok", "unset", "error"), name
        assert sum(1 for s in spans if s["name"] == "execute e2e::store_order") == 1
        assert {by_name[n]["service_name"] for n in INVOCATIONS if n.startswith("execute")} == {
            "e2e-py-http", "e2e-node-sub", "e2e-pyiii"}
        # Baggage travelled with the trace (the official Python SDK copies it onto its span).
        assert dict(by_name["execute e2e::create_order"]["attributes"]).get("tenant") == "acme"

        # The failing subscriber: status error with its message; everything else succeeded.
        failed = by_name["execute e2e::audit"]
        assert failed["status"] == "error"
        assert f"audit rejected order {order['id']}" in failed.get("status_description", "")
        assert [s["name"] for s in spans if s["status"] == "error"] == ["execute e2e::audit"]

        listed = await result(client, "engine::traces::list", {"trace_id": trace_id})
        assert [s["name"] for s in listed["spans"]] == ["POST /e2e/orders"]
        assert listed["spans"][0]["tags"]["span_count"] == len(spans)
        assert listed["spans"][0]["tags"]["error_count"] == 1
    finally:
        await stream.close()
        await client.close()


async def test_failing_http_handler_marks_its_spans_error(setup: Setup, tmp_path: Path) -> None:
    """A handler error: the HTTP span and the handler's span are both error with the message."""
    client = await RawWorker.connect(setup.engine.url)
    try:
        await wait_triggers(client, "e2e::create_order")
        trace_id = uuid.uuid4().hex
        async with httpx.AsyncClient() as http:  # no `id` in the body: the handler raises KeyError
            response = await http.post(f"http://127.0.0.1:{setup.http_port}/e2e/orders", json={"qty": 1},
                                       headers={"traceparent": f"00-{trace_id}-{'c' * 16}-01"})
        assert response.status_code == 500
        tree = await call_until(client, "engine::traces::tree", {"trace_id": trace_id},
                                lambda t: {"POST /e2e/orders", "execute e2e::create_order"}
                                <= {s["name"] for r in t["roots"] for s in walk(r)})
        spans = {s["name"]: s for r in tree["roots"] for s in walk(r)}
        http_span, handler = spans["POST /e2e/orders"], spans["execute e2e::create_order"]
        assert handler["parent_span_id"] == http_span["span_id"]
        assert http_span["status"] == "error" and handler["status"] == "error"
        assert dict(http_span["attributes"])["http.response.status_code"] == "500"
        assert "id" in http_span["status_description"] and "error.message" in dict(http_span["attributes"])
        assert dict(handler["attributes"])["iii.trigger.type"] == "http"
    finally:
        await client.close()


async def test_cron_and_named_queue_deliveries_are_traced(tmp_path: Path) -> None:
    """`cron <function id>` starts a trace; `fn_queue <queue>` continues the enqueuer's; the target
    receives a traceparent whose parent is that span."""
    proc = EngineProcess(tmp_path, workers=[
        {"name": "iii-observability", "config": {"enabled": True, "exporter": "memory", "logs_console_output": False}},
        {"name": "iii-cron", "config": {}},
        {"name": "iii-queue", "config": {"adapter": {"name": "memory"}}},
    ]).start()
    worker = await RawWorker.connect(proc.url)
    try:
        await worker.register("e2e::tick")
        await worker.register("e2e::job")
        await worker.send({"type": "registertrigger", "id": "tick", "trigger_type": "cron", "function_id": "e2e::tick",
                           "config": {"expression": "* * * * * *"}})
        tick = await worker.expect("invokefunction", timeout=5, function_id="e2e::tick")
        await worker.send({"type": "invocationresult", "invocation_id": tick["invocation_id"],
                           "function_id": "e2e::tick", "result": None})
        await worker.send({"type": "unregistertrigger", "id": "tick", "trigger_type": "cron"})
        _, tick_trace, tick_parent, _ = tick["traceparent"].split("-")
        cron = await call_until(worker, "engine::traces::tree", {"trace_id": tick_trace}, lambda t: t["roots"])
        [root] = cron["roots"]
        assert root["name"] == "cron e2e::tick" and root["span_id"] == tick_parent and root["parent_span_id"] is None
        fields = dict(root["attributes"])
        assert fields["iii.trigger.type"] == "cron" and fields["faas.trigger"] == "timer"
        assert fields["cron.job_id"] == "tick"

        trace_id = uuid.uuid4().hex
        queued = await worker.call("e2e::job", {"n": 1}, action={"type": "enqueue", "queue": "default"},
                                   traceparent=f"00-{trace_id}-{'d' * 16}-01", baggage="tenant=acme")
        assert "messageReceiptId" in queued["result"]
        job = await worker.expect("invokefunction", timeout=5, function_id="e2e::job")
        await worker.send({"type": "invocationresult", "invocation_id": job["invocation_id"],
                           "function_id": "e2e::job", "result": None})
        assert job["traceparent"].split("-")[1] == trace_id
        assert parse_baggage(job["baggage"]) == {"tenant": "acme", "iii.function.id": "e2e::job"}
        tree = await call_until(worker, "engine::traces::tree", {"trace_id": trace_id}, lambda t: t["roots"])
        [consumer] = tree["roots"]
        assert consumer["name"] == "fn_queue default" and consumer["parent_span_id"] == "d" * 16
        assert consumer["span_id"] == job["traceparent"].split("-")[2] and consumer["status"] == "ok"
        fields = dict(consumer["attributes"])
        assert fields["messaging.destination.name"] == "default" and fields["iii.trigger.type"] == "queue"
    finally:
        await worker.close()
        proc.stop()
