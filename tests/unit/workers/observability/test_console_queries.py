"""What the console asks of iii-observability: a trace status filter that sees every span, p50/p99 per function."""

from __future__ import annotations

from typing import Any

from pyiii.workers.observability import queries as Q


def span(trace: str, sid: str, parent: str | None, status: str, start: int = 0) -> dict[str, Any]:
    return {"trace_id": trace, "span_id": sid, "parent_span_id": parent, "name": f"span {sid}",
            "start_time_unix_nano": start, "end_time_unix_nano": start + 1_000_000, "status": status,
            "attributes": [], "service_name": "svc"}


SPANS = [
    span("t-ok", "a", None, "ok", 1), span("t-ok", "b", "a", "ok", 2),
    span("t-deep", "c", None, "ok", 3), span("t-deep", "d", "c", "unset", 4), span("t-deep", "e", "d", "error", 5),
    span("t-root", "f", None, "error", 6),
    span("t-unset", "g", None, "unset", 7),
]


def ids(result: dict[str, Any]) -> list[str]:
    return [s["trace_id"] for s in result["spans"]]


def test_error_finds_traces_whose_error_is_below_the_root() -> None:
    assert ids(Q.list_traces(SPANS, Q.TraceListArgs(status="error"))) == ["t-deep", "t-root"]
    assert ids(Q.list_traces(SPANS, Q.TraceListArgs(status="ok"))) == ["t-ok"]
    assert ids(Q.list_traces(SPANS, Q.TraceListArgs(status="unset"))) == ["t-unset"]
    deep = Q.list_traces(SPANS, Q.TraceListArgs(status="error"))["spans"][0]
    assert deep["span_id"] == "c" and deep["tags"]["error_count"] == 1  # the root is listed, with its tags


def test_search_all_spans_still_matches_each_span_on_its_own() -> None:
    result = Q.list_traces(SPANS, Q.TraceListArgs(status="error", search_all_spans=True))
    assert [s["span_id"] for s in result["spans"]] == ["e", "f"]


def test_metrics_give_p50_and_p99_per_function() -> None:
    from pyiii.workers.observability.metrics import EngineMetrics

    m = EngineMetrics(100, 10, 10, 60)
    for i in range(1, 101):
        m.observe("fast", i / 1000, None)
    m.observe("slow", 2.0, "boom")
    by_fn = m.invocations()["by_function"]
    assert by_fn["fast"]["p50_duration_ms"] == 51.0 and by_fn["fast"]["p99_duration_ms"] == 100.0
    assert by_fn["slow"]["p50_duration_ms"] == 2000.0 and by_fn["slow"]["error"] == 1
