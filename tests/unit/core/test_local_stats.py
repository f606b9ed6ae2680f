"""``localinvocationstats`` (spec iii-0.23-0.25 §3.4): validated, counted per function and per
worker, and handed to the local-stats observers (the metrics)."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii import protocol as p
from pyiii.core.engine import Engine, EngineLimits
from pyiii.core.local_stats import InvalidReport, parse_report
from tests.support.fake_peer import FakePeer

SDK_025 = ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


async def owner(engine: Engine, worker_id: str, *fids: str, features: list[str] | None = None) -> FakePeer:
    peer = await FakePeer.connect(engine, worker_id)
    declared = SDK_025 if features is None else features
    await engine.declare_namespace(peer, None, worker_id, aware=True, features=declared)
    for fid in fids:
        await peer.register_function(fid)
    return peer


def stats(functions: Any = None, dropped: Any = None, window_ms: Any = 10_000) -> dict[str, Any]:
    return {"type": "localinvocationstats", "window_ms": window_ms, "functions": functions or [],
            "dropped_reports": dropped or []}


async def test_counts_go_to_the_function_the_worker_and_the_metrics() -> None:
    engine = Engine()
    seen: list[tuple[str, int, int, float]] = []
    engine.invoker.local_observers.append(lambda *args: seen.append(args))
    w = await owner(engine, "w", "orders::create")

    await w.send(stats([{"function_id": "orders::create", "count": 3, "errors": 1, "duration_ms_sum": 1.5}],
                       [{"function_id": "orders::create", "reason": "BUFFER_FULL", "count": 2},
                        {"function_id": "orders::create", "reason": "SOMETHING_NEW", "count": 1}]))
    await w.send(stats([{"function_id": "orders::create", "count": 2, "errors": 0, "duration_ms_sum": 0.5}]))

    entry = engine.functions.get("orders::create")
    assert entry is not None and (entry.local_invocations, entry.local_errors) == (5, 1)
    assert (w.local_stats.invocations, w.local_stats.errors, w.local_stats.reports) == (5, 1, 2)
    assert w.local_stats.dropped_reports == {"BUFFER_FULL": 2, "OTHER": 1}
    assert seen == [("orders::create", 3, 1, 0.0015), ("orders::create", 2, 0, 0.0005)]
    assert w.unread()[-1]["type"] == "functionregistered"  # no reply to a report


async def test_rows_for_functions_the_worker_does_not_own_are_not_counted() -> None:
    engine = Engine()
    other = await owner(engine, "other", "svc::theirs")
    w = await owner(engine, "w", "svc::mine")

    await w.send(stats([{"function_id": "svc::theirs", "count": 100, "errors": 0, "duration_ms_sum": 1},
                        {"function_id": "svc::missing", "count": 100, "errors": 0, "duration_ms_sum": 1}]))

    theirs = engine.functions.get("svc::theirs")
    assert theirs is not None and theirs.local_invocations == 0
    assert w.local_stats.invocations == 0 and other.local_stats.reports == 0


async def test_reports_without_observe_v1_are_ignored() -> None:
    engine = Engine()
    w = await owner(engine, "w", "svc::f", features=[])
    await w.send(stats([{"function_id": "svc::f", "count": 1, "errors": 0, "duration_ms_sum": 1}]))
    assert w.local_stats.reports == 0


@pytest.mark.parametrize("row", [
    {"function_id": "svc::f", "count": -1, "errors": 0, "duration_ms_sum": 0},
    {"function_id": "svc::f", "count": 1, "errors": 2, "duration_ms_sum": 0},
    {"function_id": "svc::f", "count": 1.5, "errors": 0, "duration_ms_sum": 0},
    {"function_id": "svc::f", "count": True, "errors": 0, "duration_ms_sum": 0},
    {"function_id": "svc::f", "count": 2**40, "errors": 0, "duration_ms_sum": 0},
    {"function_id": "svc::f", "count": 1, "errors": 0, "duration_ms_sum": -1},
    {"function_id": "svc::f", "count": 1, "errors": 0, "duration_ms_sum": "1"},
    {"function_id": 7, "count": 1, "errors": 0, "duration_ms_sum": 0},
    {"function_id": "x" * 1025, "count": 1, "errors": 0, "duration_ms_sum": 0},
    "svc::f",
])
def test_malformed_rows_are_skipped(row: Any) -> None:
    good = {"function_id": "svc::g", "count": 1, "errors": 0, "duration_ms_sum": 0.25}
    functions, dropped, bad = parse_report(report(window_ms=5, functions=[row, good]), 10)
    assert ([f.function_id for f in functions], dropped, bad) == (["svc::g"], [], 1)


def report(**fields: Any) -> p.LocalInvocationStats:
    return p.LocalInvocationStats(**{k: p.to_raw(v) for k, v in fields.items()})


@pytest.mark.parametrize("fields", [
    {"window_ms": -1, "functions": []},
    {"window_ms": "10", "functions": []},
    {"window_ms": 1, "functions": {"svc::f": 1}},
    {"window_ms": 1, "dropped_reports": "none"},
    {"window_ms": 1, "functions": [{}] * 11},
    {"window_ms": 1, "functions": ["x" * 10 * 4096]},  # bytes are bounded before anything is decoded
])
def test_a_report_of_the_wrong_shape_or_size_is_refused_whole(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidReport):
        parse_report(report(**fields), 10)


def test_an_undecodable_report_is_refused_whole() -> None:
    deep = p.LocalInvocationStats(functions=p.Raw(b"[" * 5000 + b"]" * 5000))
    with pytest.raises(InvalidReport):
        parse_report(deep, 10_000)


async def test_the_row_limit_is_the_engines_setting() -> None:
    engine = Engine(EngineLimits(max_local_stats_rows=1))
    w = await owner(engine, "w", "svc::f")
    row = {"function_id": "svc::f", "count": 1, "errors": 0, "duration_ms_sum": 0}
    await w.send(stats([row, row]))
    assert w.local_stats.reports == 0
    await w.send(stats([row]))
    assert w.local_stats.invocations == 1
