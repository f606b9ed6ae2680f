"""The functions ``iii-observability`` registers (spec/workers.md §11.3), same shapes."""

from __future__ import annotations

import time
from typing import Any, Protocol

import msgspec

from pyiii.core import CallContext, FunctionError, Host, decode_args
from pyiii.core import error_codes as E
from pyiii.w3c_trace import parse_baggage
from pyiii.workers.observability import queries as Q
from pyiii.workers.observability.adapters.base import TelemetryStore
from pyiii.workers.observability.alerts import Alerts
from pyiii.workers.observability.config import Settings
from pyiii.workers.observability.ingest import LOG_LEVELS, log_record
from pyiii.workers.observability.metrics import EngineMetrics
from pyiii.workers.observability.sampling import Sampler

_MAX_MS = (2**63 - 1) // 1_000_000
#: Queue topics whose depth ``engine::metrics::list`` reports at most.
MAX_QUEUES_REPORTED = 100


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ns(value: int | None) -> int | None:
    if value is None:
        return None
    if abs(value) > _MAX_MS:
        raise FunctionError("time_value_overflow", f"time value {value} ms overflows when converted to nanoseconds")
    return value * 1_000_000


class MetricsArgs(msgspec.Struct):
    start_time: int | None = None
    end_time: int | None = None
    metric_name: str | None = None
    aggregate_interval: int | None = None


class RollupArgs(msgspec.Struct):
    start_time: int | None = None
    end_time: int | None = None
    level: int = 0
    metric_name: str | None = None


class KeyArgs(msgspec.Struct):
    key: str


class SetArgs(msgspec.Struct):
    key: str
    value: str


class Telemetry(Protocol):
    """What the functions serve: the worker's state (``worker.ObservabilityWorker``; the worker
    imports this module, never the other way round)."""

    host: Host
    entry_id: str
    settings: Settings
    sampler: Sampler
    metrics: EngineMetrics
    alerts: Alerts
    store: TelemetryStore | None
    rejected_frames: int
    dropped_spans: int

    @property
    def keeps_spans(self) -> bool: ...

    @property
    def keeps_logs(self) -> bool: ...

    def store_logs(self, records: list[dict[str, Any]]) -> None: ...

    def print_log(self, record: dict[str, Any]) -> None: ...

    def metrics_snapshot(self) -> dict[str, Any]: ...


class Functions:
    def __init__(self, worker: Telemetry) -> None:
        self.w = worker
        self.host = worker.host

    def register(self) -> None:
        w = self.w
        table: list[tuple[str, Any, str]] = [
            *((f"engine::log::{level}", self._log_fn(level), f"Store a {level} log") for level in LOG_LEVELS),
            ("engine::logs::list", self.logs_list, "Stored logs, filtered"),
            ("engine::logs::clear", self.logs_clear, "Delete every stored log"),
            ("engine::traces::list", self.traces_list, "Root spans (traces), filtered and sorted"),
            ("engine::traces::tree", self.traces_tree, "One trace as a span tree"),
            ("engine::traces::clear", self.traces_clear, "Delete every stored span"),
            ("engine::traces::group_by", self.traces_group_by, "Spans grouped by an attribute"),
            ("engine::metrics::list", self.metrics_list, "Engine and SDK metrics"),
            ("engine::rollups::list", self.rollups_list, "Invocation rollups (1 m, 5 m, 1 h)"),
            ("engine::sampling::rules", self.sampling_rules, "Trace and log sampling configuration"),
            ("engine::health::check", self.health_check, "Observability components health"),
            ("engine::alerts::list", self.alerts_list, "Alert rules and firing alerts"),
            ("engine::alerts::evaluate", self.alerts_evaluate, "Evaluate the alert rules now"),
            ("engine::baggage::get", self.baggage_get, "One baggage entry of the calling context"),
            ("engine::baggage::set", self.baggage_set, "Accepted; baggage does not propagate from here"),
            ("engine::baggage::get_all", self.baggage_get_all, "Every baggage entry of the calling context"),
        ]
        for function_id, handler, description in table:
            self.host.register_function(function_id, handler, description=description, worker=w.entry_id)
            self.host.tracer.untraced.add(function_id)
        self.host.tracer.untraced.add("stream::send")

    # ------------------------------------------------------------------ logs

    def _log_fn(self, level: str) -> Any:
        async def handler(data: Any, ctx: CallContext) -> None:
            try:
                record = log_record(level, data, self.w.settings.service_name)
            except ValueError as exc:
                raise FunctionError(E.DESERIALIZATION_ERROR, f"{ctx.function_id}: {exc}") from None
            self.w.print_log(record)
            self.w.store_logs([record])

        return handler

    async def logs_list(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, Q.LogListArgs)
        store = self.w.store
        if store is None or not self.w.keeps_logs:
            return {"logs": [], "total": 0, "timestamp": _now_ms()}
        window = Q.window(a.start_time, a.end_time)
        records = Q.list_logs(await store.logs(window, a.trace_id), a)
        offset, limit = max(0, a.offset), max(0, a.limit)
        return {"logs": records[offset:offset + limit], "total": len(records), "query": data or {},
                "timestamp": _now_ms()}

    async def logs_clear(self, data: Any, ctx: CallContext) -> Any:
        if self.w.store is not None:
            await self.w.store.clear_logs()
        return {"success": True, "message": "logs cleared"}

    # ------------------------------------------------------------------ traces

    def _span_store(self) -> Any:
        if not self.w.keeps_spans or self.w.store is None:
            raise FunctionError("memory_exporter_not_enabled",
                                "spans are not kept in memory (set exporter: memory or both, and enabled: true)")
        return self.w.store

    async def traces_list(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, Q.TraceListArgs)
        store = self._span_store()
        ids = set(a.trace_ids or []) | ({a.trace_id} if a.trace_id else set())
        spans = await store.spans(ids or None, Q.window(a.start_time, a.end_time))
        return Q.list_traces(spans, a)

    async def traces_tree(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, Q.TraceTreeArgs)
        return Q.tree(await self._span_store().spans({a.trace_id}))

    async def traces_clear(self, data: Any, ctx: CallContext) -> Any:
        await self._span_store().clear_spans()
        return {"success": True}

    async def traces_group_by(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, Q.GroupByArgs)
        spans = await self._span_store().spans(None, Q.window(a.since_ms, None))
        return Q.group_by(spans, a)

    # ------------------------------------------------------------------ metrics

    async def _queue_depths(self) -> dict[str, Any] | None:
        """Queue depth per topic, asked from the queue worker if one is loaded."""
        if "engine::queue::list_topics" not in self.host.functions:
            return None
        try:
            topics = await self.host.call("engine::queue::list_topics", {})
            depths: dict[str, Any] = {}
            for topic in (topics or [])[:MAX_QUEUES_REPORTED]:
                stats = await self.host.call("engine::queue::topic_stats", {"topic": topic["name"]})
                depths[topic["name"]] = {k: stats.get(k) for k in ("depth", "in_flight", "dlq_depth", "consumer_count")}
            return depths
        except (FunctionError, TypeError, KeyError, AttributeError):
            return None

    async def metrics_list(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, MetricsArgs)
        since, until = _ns(a.start_time), _ns(a.end_time)
        engine_metrics: dict[str, Any] = self.w.metrics_snapshot()
        queues = await self._queue_depths()
        if queues is not None:
            engine_metrics["queues"] = queues
        result: dict[str, Any] = {
            "engine_metrics": engine_metrics,
            "sdk_metrics": self.w.metrics.sdk_metrics(since, until, a.metric_name),
            "timestamp": _now_ms(),
        }
        if a.aggregate_interval:
            level = 0 if a.aggregate_interval <= 60 else 1 if a.aggregate_interval <= 300 else 2
            result["aggregated_metrics"] = self.w.metrics.rollup_rows(
                level, a.start_time // 1000 if a.start_time else None, a.end_time // 1000 if a.end_time else None)
        if data:
            result["query"] = data
        return result

    async def rollups_list(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, RollupArgs)
        _ns(a.start_time)
        _ns(a.end_time)
        level = min(2, max(0, a.level))
        rows = self.w.metrics.rollup_rows(
            level, a.start_time // 1000 if a.start_time else None, a.end_time // 1000 if a.end_time else None)
        histograms = [{"start_time": r["start_time"], "metric_name": "iii.invocation.duration",
                       "bucket_bounds_ms": [0, *(2**i for i in range(23))], "counts": r["histogram_log2_ms"]}
                      for r in rows]
        return {"rollups": [{k: v for k, v in r.items() if k != "histogram_log2_ms"} for r in rows],
                "histogram_rollups": histograms, "level": level, "source": "engine",
                "query": data or {}, "timestamp": _now_ms()}

    # ------------------------------------------------------------------ config, health, alerts

    async def sampling_rules(self, data: Any, ctx: CallContext) -> Any:
        return {"traces": self.w.sampler.describe(), "logs": {"sampling_ratio": self.w.settings.logs_sampling_ratio},
                "timestamp": _now_ms()}

    async def health_check(self, data: Any, ctx: CallContext) -> Any:
        s, store = self.w.settings, self.w.store
        stats = store.stats() if store is not None else {}

        def part(on: bool, details: dict[str, Any]) -> dict[str, Any]:
            return {"status": "healthy" if on else "disabled", "details": details}

        # The servers the engine's adapters depend on (the checks /readyz uses, same cache).
        adapters = await self.host.health_report()
        components = {
            "otel": part(s.enabled, {"exporter": s.exporter, "endpoint": s.endpoint,
                                     "sampling_ratio": s.sampling_ratio, "service_name": s.service_name}),
            "metrics": part(s.metrics_enabled, {"exporter": s.metrics_exporter,
                                                "sdk_points": len(self.w.metrics.sdk_points)}),
            "logs": part(s.logs_enabled, {"exporter": s.logs_exporter, "stored": stats.get("logs", 0)}),
            "spans": part(self.w.keeps_spans, {**stats, "rejected_frames": self.w.rejected_frames,
                                               "sampled_out": self.w.dropped_spans}),
        }
        http = await self._http_edge()
        if http is not None:  # the HTTP port's connection count and what its limits refused
            components["http"] = part(True, http)
        return {
            "status": "healthy" if all(a.ok for a in adapters.values()) else "unhealthy",
            "adapters": [{"name": name, **a.to_json()} for name, a in adapters.items()],
            "components": components,
            "timestamp": _now_ms(),
            "version": self.host.version,
        }

    async def _http_edge(self) -> dict[str, Any] | None:
        """iii-http's own counters (served by its ``iii-http::stats``), or None without iii-http."""
        try:
            stats = await self.host.call("iii-http::stats", {}, timeout=1.0)
        except Exception:  # no iii-http in this engine, or it did not answer: nothing to report
            return None
        return stats if isinstance(stats, dict) else None

    async def alerts_list(self, data: Any, ctx: CallContext) -> Any:
        listing = self.w.alerts.listing()
        if not self.w.settings.alerts:
            listing["message"] = "no alert rules configured"
        return listing

    async def alerts_evaluate(self, data: Any, ctx: CallContext) -> Any:
        if not self.w.settings.alerts:
            return {"evaluated": False, "message": "no alert rules configured", "timestamp": _now_ms()}
        triggered = await self.w.alerts.evaluate()
        return {"evaluated": True, "triggered_alerts": triggered, "timestamp": _now_ms()}

    # ------------------------------------------------------------------ baggage (the caller's context)

    async def baggage_get(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, KeyArgs)
        return {"value": parse_baggage(ctx.baggage).get(a.key)}

    async def baggage_set(self, data: Any, ctx: CallContext) -> Any:
        decode_args(ctx.function_id, data, SetArgs)
        return {"success": True,
                "note": "baggage set here does not propagate; set it in the caller's OpenTelemetry context"}

    async def baggage_get_all(self, data: Any, ctx: CallContext) -> Any:
        return {"baggage": parse_baggage(ctx.baggage)}
