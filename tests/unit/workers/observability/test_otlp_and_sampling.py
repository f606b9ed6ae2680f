"""OTLP/JSON decoding (hex and base64 ids) and trace-id ratio sampling."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from pyiii.workers.observability import otlp_json
from pyiii.workers.observability.config import SamplingConfig, SamplingRule
from pyiii.workers.observability.sampling import Sampler, keeps


def test_decode_accepts_hex_and_base64_ids_and_skips_bad_spans() -> None:
    trace, span = os.urandom(16), os.urandom(8)
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
                                                           "value": {"stringValue": "svc"}}]},
                              "scopeSpans": [{"scope": {"name": "sc"}, "spans": [
                                  {"traceId": base64.b64encode(trace).decode(), "spanId": span.hex(), "name": "a",
                                   "startTimeUnixNano": 5, "endTimeUnixNano": "9", "kind": 2,
                                   "attributes": [{"key": "n", "value": {"intValue": "7"}},
                                                  {"key": "b", "value": {"boolValue": True}}],
                                   "status": {"code": "STATUS_CODE_ERROR", "message": "x"}},
                                  {"traceId": "zz", "spanId": span.hex(), "name": "bad"},
                                  "not an object"]}]}]}
    out = otlp_json.decode_traces(json.dumps(doc).encode())
    assert out.skipped == 2 and len(out.records) == 1
    rec = out.records[0]
    assert rec["trace_id"] == trace.hex() and rec["span_id"] == span.hex() and rec["service_name"] == "svc"
    assert rec["attributes"] == [["n", "7"], ["b", "true"]] and rec["status"] == "error" and rec["kind"] == "server"
    assert (rec["start_time_unix_nano"], rec["end_time_unix_nano"]) == (5, 9)


_SVC = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}


@pytest.mark.parametrize(("decode", "resources", "scopes", "items", "item"), [
    (otlp_json.decode_traces, "resourceSpans", "instrumentationLibrarySpans", "spans",
     {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "s"}),
    (otlp_json.decode_logs, "resource_logs", "instrumentationLibraryLogs", "logRecords",
     {"body": {"stringValue": "b"}}),
    (otlp_json.decode_metrics, "resourceMetrics", "scopeMetrics", "metrics",
     {"name": "m", "gauge": {"dataPoints": [{"asInt": "3"}]}}),
])
def test_every_signal_walks_the_same_envelope(
    decode: Any, resources: str, scopes: str, items: str, item: dict[str, Any]
) -> None:
    """Resource and scope blocks that are not objects are skipped and counted; either spelling of
    the resource key and the pre-1.0 scope names are read; the service comes from the resource."""
    doc = {resources: ["junk", {"resource": _SVC, scopes: [7, {"scope": {"name": "sc"}, items: [item]}]},
                       {scopes: [{items: [item]}]}]}
    out = decode(json.dumps(doc).encode(), "fallback")
    assert out.skipped == 2 and len(out.records) == 2
    assert [r["service_name"] for r in out.records] == ["svc", "fallback"]


@pytest.mark.parametrize("payload", [b"{", b"[]", b'{"resourceSpans": 3}', b"\xff"])
def test_decode_rejects_non_otlp(payload: bytes) -> None:
    with pytest.raises(otlp_json.OtlpDecodeError):
        otlp_json.decode_traces(payload)


def test_ratio_sampling_is_consistent_and_close_to_the_ratio() -> None:
    ids = [os.urandom(16).hex() for _ in range(20_000)]
    kept = [t for t in ids if keeps(t, 0.1)]
    assert 0.08 < len(kept) / len(ids) < 0.12
    assert kept == [t for t in ids if keeps(t, 0.1)]  # same decision every time for a trace
    sampler = Sampler(1.0, SamplingConfig(rules=[SamplingRule(rate=0.0, operation="call engine::*")]), "iii")
    assert sampler("call engine::functions::list", ids[0], None) is False
    assert sampler("trigger orders::create", ids[0], None) is True
    assert sampler("call engine::functions::list", ids[0], True) is True  # parent-based
