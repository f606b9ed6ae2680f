"""Calls a worker ran in-process (local dispatch, reported by ``localinvocationstats``) count in
the invocation metrics like routed ones (spec iii-0.23-0.25 §3.4)."""

from __future__ import annotations

from pyiii.workers.observability.metrics import EngineMetrics


def test_reported_local_calls_add_to_totals_per_function_and_rollups() -> None:
    m = EngineMetrics(100, 10, 10, 60)
    m.observe("orders::create", 0.002, None)  # one routed call
    m.observe_local("orders::create", 4, 1, 0.004)  # four local calls, one failed, 1 ms each

    counts = m.invocations()
    row = counts["by_function"]["orders::create"]
    assert (counts["total"], counts["success"], counts["error"]) == (5, 4, 1)
    assert (row["total"], row["error"]) == (5, 1)
    minute = m.rollup_rows(0, None, None)[-1]
    assert (minute["count"], minute["error_count"], sum(minute["histogram_log2_ms"])) == (5, 1, 5)
    assert minute["avg_duration_ms"] == 1.2


def test_an_empty_report_changes_nothing() -> None:
    m = EngineMetrics(100, 10, 10, 60)
    m.observe_local("svc::f", 0, 0, 0.0)
    assert m.invocations()["total"] == 0 and m.invocations()["by_function"] == {}
