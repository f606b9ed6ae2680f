"""The query, log, metric, alert and baggage functions, the log/trace triggers and /otel frames."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.integration.observability.support import (
    call_until,
    obs_engine,
    otlp_logs,
    otlp_spans,
    result,
    send_otel,
    span_json,
)
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker, wait_function

ALERT = {"name": "any-error", "metric": "invocations.error", "threshold": 0, "operator": ">",
         "cooldown_seconds": 0, "action": {"type": "function", "path": "test::alert"}}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = obs_engine(tmp_path_factory.mktemp("obs"), alerts=[ALERT], live_feed_window_ms=50).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def client(engine: EngineProcess) -> AsyncIterator[RawWorker]:
    c = await RawWorker.connect(engine.url)
    try:
        yield c
    finally:
        await c.close()


def tid() -> str:
    return uuid.uuid4().hex


def sid() -> str:
    return os.urandom(8).hex()


async def test_engine_log_functions_and_filters(client: RawWorker) -> None:
    trace = tid()
    marker = uuid.uuid4().hex[:8]
    assert await result(client, "engine::log::info", {"message": f"hello {marker}", "data": {"order": 1},
                                                     "trace_id": trace, "span_id": "a" * 16}) is None
    await result(client, "engine::log::error", {"message": f"\x1b[31mfailed {marker}\x1b[0m", "service_name": "svc"})
    await result(client, "engine::log::debug", {"message": f"detail {marker}"})
    bad = await client.call("engine::log::warn", {"data": 1})
    assert bad["error"]["code"] == "deserialization_error"

    logs = (await result(client, "engine::logs::list", {"search": marker}))["logs"]
    assert [lg["severity_text"] for lg in logs] == ["DEBUG", "ERROR", "INFO"]  # newest first
    info = logs[2]
    assert info["severity_number"] == 9 and info["attributes"] == {"order": 1}
    assert info["trace_id"] == trace and info["span_id"] == "a" * 16
    assert logs[1]["body"] == f"failed {marker}" and logs[1]["service_name"] == "svc"  # ANSI stripped

    errors = await result(client, "engine::logs::list", {"search": marker, "severity_min": 17})
    assert [lg["severity_text"] for lg in errors["logs"]] == ["ERROR"] and errors["total"] == 1
    by_trace = await result(client, "engine::logs::list", {"trace_id": trace})
    assert [lg["body"] for lg in by_trace["logs"]] == [f"hello {marker}"]
    page = await result(client, "engine::logs::list", {"search": marker, "offset": 1, "limit": 1})
    assert page["total"] == 3 and [lg["severity_text"] for lg in page["logs"]] == ["ERROR"]


async def test_engine_own_logging_lands_in_the_store(client: RawWorker) -> None:
    # An unknown trigger type is parked by the engine with a log line; any engine INFO+ record will do,
    # so provoke a warning: a worker connection that sends a malformed frame.
    async with connect(client_url(client)) as ws:
        await ws.send("{not json")
    logs = await call_until(client, "engine::logs::list", {"search": "dropped frame"},
                            lambda r: r["total"] >= 1)
    assert logs["logs"][0]["service_name"] == "iii" and logs["logs"][0]["attributes"]["logger"].startswith("pyiii")


def client_url(client: RawWorker) -> str:
    host, port = client.ws.remote_address[:2]
    return f"ws://{host}:{port}"


async def test_sdk_spans_queries(engine: EngineProcess, client: RawWorker) -> None:
    t1, t2 = tid(), tid()
    r1, c1, r2 = sid(), sid(), sid()
    svc = f"svc-{uuid.uuid4().hex[:6]}"
    await send_otel(engine.url, otlp_spans([
        span_json(t1, r1, "GET /orders", duration_ms=40, **{"http.route": "/orders", "tenant": "a"}),
        span_json(t1, c1, "execute orders::list", parent=r1, duration_ms=30, function_id="orders::list"),
        span_json(t2, r2, "POST /orders", duration_ms=5, error=True, **{"http.route": "/orders", "tenant": "b"}),
    ], service=svc))
    listed = await call_until(client, "engine::traces::list", {"service_name": svc},
                              lambda r: r["total"] == 2)
    assert [s["name"] for s in listed["spans"]] == ["GET /orders", "POST /orders"]  # roots only, by start time
    first = listed["spans"][0]
    assert first["tags"]["span_count"] == 2 and first["status"] == "ok"
    assert ["tenant", "a"] in first["attributes"]

    desc = await result(client, "engine::traces::list", {"service_name": svc, "sort_by": "duration",
                                                        "sort_order": "desc"})
    assert [s["trace_id"] for s in desc["spans"]] == [t1, t2]
    errors = await result(client, "engine::traces::list", {"service_name": svc, "status": "ERR"})
    assert [s["trace_id"] for s in errors["spans"]] == [t2] and errors["spans"][0]["status_description"] == "boom"
    slow = await result(client, "engine::traces::list", {"service_name": svc, "min_duration_ms": 20})
    assert [s["trace_id"] for s in slow["spans"]] == [t1]
    tenant_b = await result(client, "engine::traces::list", {"service_name": svc, "attributes": [["tenant", "b"]]})
    assert [s["trace_id"] for s in tenant_b["spans"]] == [t2]
    not_b = await result(client, "engine::traces::list", {"service_name": svc,
                                                         "exclude_attributes": [["tenant", "b"]]})
    assert [s["trace_id"] for s in not_b["spans"]] == [t1]
    all_spans = await result(client, "engine::traces::list", {"trace_id": t1, "search_all_spans": True})
    assert all_spans["total"] == 2
    text = await result(client, "engine::traces::list", {"service_name": svc, "search": "post"})
    assert [s["trace_id"] for s in text["spans"]] == [t2]
    window = await result(client, "engine::traces::list", {"service_name": svc, "start_time": 1, "end_time": 2})
    assert window["total"] == 0

    tree = await result(client, "engine::traces::tree", {"trace_id": t1})
    assert [r["name"] for r in tree["roots"]] == ["GET /orders"]
    assert [c["name"] for c in tree["roots"][0]["children"]] == ["execute orders::list"]

    groups = await result(client, "engine::traces::group_by", {"attribute": "http.route", "label_attribute": "tenant"})
    group = next(g for g in groups["groups"] if g["value"] == "/orders" and t1 in g["trace_ids"])
    assert {t1, t2} <= set(group["trace_ids"]) and group["error_count"] >= 1


async def test_builtin_calls_get_engine_spans_when_traced(client: RawWorker) -> None:
    trace = tid()
    frame = await client.call("engine::functions::list", {}, traceparent=f"00-{trace}-{'b' * 16}-01")
    assert frame["traceparent"].split("-")[1] == trace and frame["traceparent"].split("-")[2] != "b" * 16
    await client.call("engine::functions::list", {})  # no traceparent: no span
    spans = await call_until(client, "engine::traces::list", {"trace_id": trace, "include_internal": True},
                             lambda r: r["total"] == 1)
    span = spans["spans"][0]
    assert span["name"] == "call engine::functions::list" and span["parent_span_id"] == "b" * 16
    assert span["kind"] == "server" and span["service_name"] == "iii"
    attrs = dict(span["attributes"])
    assert attrs["faas.trigger"] == "other" and attrs["iii.function.kind"] == "internal"
    assert attrs["iii.worker.name"] == "iii-engine-functions"
    hidden = await result(client, "engine::traces::list", {"trace_id": trace})
    assert hidden["total"] == 0  # internal spans are hidden by default
    failing = tid()
    await client.call("engine::functions::info", {"bad": 1}, traceparent=f"00-{failing}-{'c' * 16}-01")
    failed = await call_until(client, "engine::traces::list", {"trace_id": failing, "include_internal": True},
                              lambda r: r["total"] == 1)
    span = failed["spans"][0]
    assert span["status"] == "error" and dict(span["attributes"])["error.type"]
    assert [e["name"] for e in span["events"]] == ["exception"]
    # Query functions are never traced.
    q = tid()
    await client.call("engine::traces::list", {}, traceparent=f"00-{q}-{'d' * 16}-01")
    # Barrier: a traced call made after it on the same connection shows up in the store; a span of
    # the query call, finished before that call began, would have been stored first.
    after = tid()
    await client.call("engine::functions::info", {"bad": 1}, traceparent=f"00-{after}-{'e' * 16}-01")
    await call_until(client, "engine::traces::list", {"trace_id": after, "include_internal": True},
                     lambda r: r["total"] == 1)
    assert (await result(client, "engine::traces::list", {"trace_id": q, "include_internal": True}))["total"] == 0


async def test_metrics_rollups_health_sampling_baggage(engine: EngineProcess, client: RawWorker) -> None:
    await result(client, "engine::functions::list", {})
    metrics = await result(client, "engine::metrics::list", {"aggregate_interval": 60})
    em = metrics["engine_metrics"]
    assert em["invocations"]["by_function"]["engine::functions::list"]["total"] >= 1
    assert em["workers"]["active"] >= 1 and em["workers"]["spawns"] >= 1
    assert em["performance"]["max_duration_ms"] >= em["performance"]["p50_duration_ms"] >= 0
    assert metrics["aggregated_metrics"][-1]["count"] >= 1
    overflow = await client.call("engine::metrics::list", {"start_time": 2**62})
    assert overflow["error"]["code"] == "time_value_overflow"
    rollups = await result(client, "engine::rollups::list", {"level": 0})
    assert rollups["level"] == 0 and rollups["rollups"][-1]["count"] >= 1 and rollups["histogram_rollups"]

    health = await result(client, "engine::health::check", {})
    assert health["status"] == "healthy" and health["components"]["spans"]["status"] == "healthy"
    rules = await result(client, "engine::sampling::rules", {})
    assert rules["traces"]["default_ratio"] == 1.0 and rules["traces"]["parent_based"] is True
    assert rules["logs"] == {"sampling_ratio": 1.0}

    bag = await result(client, "engine::baggage::get_all", {}, baggage="tenant=acme,user=u%201")
    assert bag == {"baggage": {"tenant": "acme", "user": "u 1"}}
    one = await result(client, "engine::baggage::get", {"key": "user"}, baggage="user=u%201")
    assert one == {"value": "u 1"}
    assert (await result(client, "engine::baggage::set", {"key": "k", "value": "v"}))["success"] is True


async def test_worker_gauges_from_mtrc_frames(engine: EngineProcess, client: RawWorker) -> None:
    import json
    import time

    now = str(time.time_ns())

    def gauge(name: str, value: float) -> dict[str, Any]:
        return {"name": name, "unit": "", "gauge": {"dataPoints": [{
            "attributes": [{"key": "worker.id", "value": {"stringValue": client.worker_id}}],
            "timeUnixNano": now, "asDouble": value}]}}

    frame = b"MTRC" + json.dumps({"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [{
        "scope": {"name": "w"}, "metrics": [gauge("iii.worker.memory.rss", 1234.0),
                                             gauge("iii.worker.cpu.percent", 3.5)]}]}]}).encode()
    await client.ws.send(frame)  # accepted on the main connection too
    info = await call_until(client, "engine::workers::info", {"name": client.worker_id},
                            lambda r: "latest_metrics" in r["worker"])
    latest = info["worker"]["latest_metrics"]
    assert latest["memory_rss"] == 1234.0 and latest["cpu_percent"] == 3.5 and latest["timestamp_ms"] > 0
    sdk = await result(client, "engine::metrics::list", {"metric_name": "iii.worker.cpu.percent"})
    assert sdk["sdk_metrics"][-1]["value"] == 3.5


async def test_the_worker_gauges_function_is_internal(client: RawWorker) -> None:
    """``engine::workers::info`` reads the gauges through it; a remote worker may not call it and
    does not see it in the default function list (the reference has no such function)."""
    frame = await client.call("iii-observability::worker-metrics", {"worker_id": client.worker_id})
    assert frame["error"]["code"] == "FORBIDDEN", frame
    listed = await result(client, "engine::functions::list", {})
    assert "iii-observability::worker-metrics" not in {f["function_id"] for f in listed["functions"]}
    everything = await result(client, "engine::functions::list", {"include_internal": True})
    assert "iii-observability::worker-metrics" in {f["function_id"] for f in everything["functions"]}


async def test_malformed_frames_are_rejected_without_harm(engine: EngineProcess, client: RawWorker) -> None:
    good = tid()
    async with connect(engine.url + "/otel") as bad, connect(engine.url + "/otel") as other:
        await bad.send(b"OTLP{this is not json")
        await bad.send(b"OTLP[1,2,3]")
        await bad.send(b"LOGS" + b"\xff\xfe")
        await bad.send(b"MTRC" + b'{"resourceMetrics": 5}')
        await bad.send(b"XXXXsomething")  # unknown prefix: ignored
        await bad.send("a text frame")  # ignored
        await other.send(otlp_spans([span_json(good, sid(), "still fine")]))
        await bad.send(otlp_spans([span_json(tid(), sid(), "after garbage")], service="bad-conn"))
    await client.ws.send(b"OTLP{garbage on the main socket")
    found = await call_until(client, "engine::traces::list", {"trace_id": good}, lambda r: r["total"] == 1)
    assert found["spans"][0]["name"] == "still fine"
    await call_until(client, "engine::traces::list", {"service_name": "bad-conn"}, lambda r: r["total"] == 1)
    health = await result(client, "engine::health::check", {})
    assert health["components"]["spans"]["details"]["rejected_frames"] >= 4
    assert "result" in await client.call("engine::functions::list", {})  # the main socket still works


async def test_sdk_logs_and_log_trigger(engine: EngineProcess, client: RawWorker) -> None:
    fid = f"test::on_log_{uuid.uuid4().hex[:6]}"
    await client.register(fid)
    await client.send({"type": "registertrigger", "id": str(uuid.uuid4()), "trigger_type": "log",
                       "function_id": fid, "config": {"level": "error"}})
    await call_until(client, "engine::registered-triggers::list", {"function_id": fid},
                     lambda r: r["registered_triggers"])
    trace = tid()
    await send_otel(engine.url, otlp_logs([("sdk says hi", 9, trace), ("sdk failed", 17, trace)], service="sdk-svc"))
    frame = await client.expect("invokefunction", function_id=fid)
    assert frame["data"]["body"] == "sdk failed" and frame["data"]["severity_text"] == "ERROR"
    assert frame["data"]["trace_id"] == trace and frame["data"]["service_name"] == "sdk-svc"
    logs = await call_until(client, "engine::logs::list", {"trace_id": trace}, lambda r: r["total"] == 2)
    assert {lg["attributes"]["k"] for lg in logs["logs"]} == {3}
    await result(client, "engine::log::info", {"message": "not an error"})
    await result(client, "engine::log::error", {"message": "an error"})
    frame = await client.expect("invokefunction", function_id=fid)
    assert frame["data"]["body"] == "an error"


async def test_trace_trigger(engine: EngineProcess, client: RawWorker) -> None:
    fid = f"test::on_trace_{uuid.uuid4().hex[:6]}"
    await client.register(fid)
    await client.send({"type": "registertrigger", "id": str(uuid.uuid4()), "trigger_type": "trace",
                       "function_id": fid, "config": {"status": "error", "service_name": "trig-svc"}})
    await call_until(client, "engine::registered-triggers::list", {"function_id": fid},
                     lambda r: r["registered_triggers"])
    ok_trace, bad_trace = tid(), tid()
    await send_otel(engine.url, otlp_spans([span_json(ok_trace, sid(), "fine"),
                                            span_json(bad_trace, sid(), "broken", error=True)], service="trig-svc"))
    frame = await client.expect("invokefunction", function_id=fid)
    assert frame["data"] == {"trace_ids": [bad_trace]}


async def test_alerts(engine: EngineProcess, client: RawWorker) -> None:
    listing = await result(client, "engine::alerts::list", {})
    assert listing["rules"][0]["name"] == "any-error"
    await client.register("test::alert")
    await wait_function(client, "test::alert")
    await client.call("engine::log::info", {"no": "message"})  # a failed call
    evaluated = await result(client, "engine::alerts::evaluate", {})
    assert evaluated["evaluated"] is True and evaluated["triggered_alerts"][0]["name"] == "any-error"
    frame = await client.expect("invokefunction", function_id="test::alert")
    assert frame["data"]["metric"] == "invocations.error" and frame["data"]["value"] >= 1
    assert (await result(client, "engine::alerts::list", {}))["firing_count"] == 1


async def test_clear(engine: EngineProcess, client: RawWorker) -> None:
    await send_otel(engine.url, otlp_spans([span_json(tid(), sid(), "to be cleared")], service="clear-svc"))
    await call_until(client, "engine::traces::list", {"service_name": "clear-svc"}, lambda r: r["total"] == 1)
    assert await result(client, "engine::traces::clear", {}) == {"success": True}
    assert (await result(client, "engine::traces::list", {"service_name": "clear-svc"}))["total"] == 0
    assert (await result(client, "engine::logs::clear", {}))["success"] is True
    assert (await result(client, "engine::logs::list", {}))["total"] <= 1
