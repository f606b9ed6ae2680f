"""OTLP/JSON decoding (hex and base64 ids) and trace-id ratio sampling."""

from __future__ import annotations

import base64
import json
import os

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
