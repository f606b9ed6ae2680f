"""Engine and SDK spans (and logs) reach a real OTLP receiver over HTTP and over gRPC."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.integration.observability.support import call_until, obs_engine, otlp_logs, otlp_spans, send_otel, span_json
from tests.support.engine import free_port
from tests.support.wire import RawWorker


class Received:
    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str]] = []  # (service, name, trace_id hex)
        self.logs: list[tuple[str, str]] = []  # (body, trace_id hex)
        self.changed = threading.Condition()

    def add_traces(self, request: ExportTraceServiceRequest) -> None:
        with self.changed:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
                for ss in rs.scope_spans:
                    self.spans.extend((service, s.name, s.trace_id.hex()) for s in ss.spans)
            self.changed.notify_all()

    def wait_for(self, check: Any, timeout: float = 15.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: check(self), timeout), (self.spans, self.logs)


@pytest.fixture
def http_receiver() -> Iterator[tuple[int, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                received.add_traces(ExportTraceServiceRequest.FromString(body))
            elif self.path == "/v1/logs":
                request = ExportLogsServiceRequest.FromString(body)
                with received.changed:
                    for rl in request.resource_logs:
                        for sl in rl.scope_logs:
                            received.logs.extend((r.body.string_value, r.trace_id.hex()) for r in sl.log_records)
                    received.changed.notify_all()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[int, Received]]:
    received = Received()

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: ExportTraceServiceRequest, context: Any) -> ExportTraceServiceResponse:
            received.add_traces(request)
            return ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    try:
        yield port, received
    finally:
        server.stop(0)


async def produce(url: str, sdk_trace: str, engine_trace: str) -> None:
    """One SDK span over /otel, one SDK log, and one engine span (a traced built-in call)."""
    await send_otel(url, otlp_spans([span_json(sdk_trace, os.urandom(8).hex(), "execute sdk::fn")], service="sdk"),
                    otlp_logs([("exported log", 9, sdk_trace)]))
    client = await RawWorker.connect(url)
    try:
        await client.call("engine::functions::list", {}, traceparent=f"00-{engine_trace}-{'e' * 16}-01")
    finally:
        await client.close()


async def test_otlp_http_export(tmp_path: Path, http_receiver: tuple[int, Received]) -> None:
    port, received = http_receiver
    proc = obs_engine(tmp_path, exporter="both", endpoint=f"http://127.0.0.1:{port}", otlp_protocol="http/protobuf",
                      logs_exporter="both", logs_flush_interval_ms=100).start()
    sdk_trace, engine_trace = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        await produce(proc.url, sdk_trace, engine_trace)
        received.wait_for(lambda r: {("sdk", "execute sdk::fn", sdk_trace),
                                     ("iii", "call engine::functions::list", engine_trace)} <= set(r.spans)
                          and ("exported log", sdk_trace) in r.logs)
        # "both" keeps them queryable too.
        client = await RawWorker.connect(proc.url)
        await call_until(client, "engine::traces::list", {"trace_id": sdk_trace}, lambda r: r["total"] == 1)
        await client.close()
    finally:
        proc.stop()


async def test_otlp_grpc_export_and_sampling(tmp_path: Path, grpc_receiver: tuple[int, Received]) -> None:
    port, received = grpc_receiver
    # exporter: otlp keeps nothing in memory; traces queries say so.
    proc = obs_engine(tmp_path, exporter="otlp", endpoint=f"http://127.0.0.1:{port}").start()
    sdk_trace, engine_trace = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        await produce(proc.url, sdk_trace, engine_trace)
        received.wait_for(lambda r: {("sdk", "execute sdk::fn", sdk_trace),
                                     ("iii", "call engine::functions::list", engine_trace)} <= set(r.spans))
        client = await RawWorker.connect(proc.url)
        frame = await client.call("engine::traces::list", {})
        assert frame["error"]["code"] == "memory_exporter_not_enabled"
        await client.close()
    finally:
        proc.stop()


async def test_sampling_ratio_zero_drops_sdk_and_root_spans(tmp_path: Path) -> None:
    proc = obs_engine(tmp_path, sampling_ratio=0.0).start()
    try:
        kept_trace = uuid.uuid4().hex
        await send_otel(proc.url, otlp_spans([span_json(uuid.uuid4().hex, os.urandom(8).hex(), "dropped")]))
        client = await RawWorker.connect(proc.url)
        # A sampled parent still wins for engine spans (parent_based).
        await client.call("engine::functions::list", {}, traceparent=f"00-{kept_trace}-{'f' * 16}-01")
        await call_until(client, "engine::traces::list", {"trace_id": kept_trace, "include_internal": True},
                         lambda r: r["total"] == 1)
        unsampled = uuid.uuid4().hex
        answer = await client.call("engine::functions::list", {}, traceparent=f"00-{unsampled}-{'f' * 16}-00")
        assert answer["traceparent"].endswith("-00")
        listed = await client.call("engine::traces::list", {"search_all_spans": True, "include_internal": True})
        assert {s["trace_id"] for s in listed["result"]["spans"]} == {kept_trace}
        health = await client.call("engine::health::check", {})
        assert health["result"]["components"]["spans"]["details"]["sampled_out"] == 1
        await client.close()
    finally:
        proc.stop()
