"""``iii-observability``: stores engine and SDK telemetry, answers the console's queries,
exports through OpenTelemetry (spec/workers.md §11). See README.md in this package."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pyiii.core import CallContext, FunctionEntry, FunctionError, Host, Span, error_codes
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.observability import MANIFEST, otlp_json
from pyiii.workers.observability.adapters.base import RECORD_OVERHEAD_BYTES, Caps, TelemetryStore
from pyiii.workers.observability.adapters.memory import MemoryStore
from pyiii.workers.observability.adapters.sqlite import SqliteStore
from pyiii.workers.observability.alerts import Alerts
from pyiii.workers.observability.config import ObservabilityConfig, Settings, resolve
from pyiii.workers.observability.export import Exporter
from pyiii.workers.observability.functions import Functions
from pyiii.workers.observability.ingest import enrich, invoked_function, span_record, trigger_of
from pyiii.workers.observability.log_bridge import StoreHandler
from pyiii.workers.observability.metrics import EngineMetrics, apply_worker_gauges, expire_worker_gauges
from pyiii.workers.observability.sampling import Sampler
from pyiii.workers.observability.triggers import Dispatcher

log = logging.getLogger("pyiii.observability")

#: Internal: a connected worker's latest ``iii.worker.*`` gauges, for ``engine::workers::info``.
#: The reference has no such function; this one answers in-process callers only.
WORKER_METRICS = "iii-observability::worker-metrics"

_LEVELS = {"trace": 1, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
#: Frames bigger than this are decoded in a thread instead of on the event loop.
_DECODE_INLINE_BYTES = 256 * 1024


#: SDK / ``ctx.logger`` lines are printed through this logger's handlers (the process's one log
#: format), under the record's service name (the step); the log bridge does not store them again.
_console = logging.getLogger("pyiii.observability.console")
_PY_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() or c in "=\"" for c in value) else json.dumps(value)
    try:
        return json.dumps(value, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def format_line(record: dict[str, Any]) -> str:
    """``message key=value ... trace=<id>``: the body, the structured data, the trace."""
    parts = [str(record.get("body", ""))]
    attributes = record.get("attributes")
    if isinstance(attributes, dict):
        parts += [f"{k}={_value_text(v)}" for k, v in attributes.items()]
    if record.get("trace_id"):
        parts.append(f"trace={record['trace_id']}")
    return " ".join(parts)


def console_line(record: dict[str, Any]) -> None:
    level = _PY_LEVELS.get(str(record.get("severity_text", "INFO")).upper(), logging.INFO)
    if not _console.isEnabledFor(level):
        return
    name = str(record.get("service_name") or "app")
    line = logging.LogRecord(name, level, "", 0, "%s", (format_line(record),), None)
    line.pyiii_sdk_log = True  # already stored as what it is: the log bridge skips it
    _console.handle(line)


class ObservabilityWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Traces, logs and metrics: stored, queryable and exported with OpenTelemetry."
    config_type = ObservabilityConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.settings: Settings = resolve(config, context.project_dir, context.data_dir, host.version)
        s = self.settings
        self.sampler = Sampler(s.sampling_ratio, s.sampling, s.service_name)
        self.metrics = EngineMetrics(config.duration_samples, config.max_tracked_functions, s.metrics_max_count,
                                     s.metrics_retention_seconds)
        self.dispatcher = Dispatcher(host, config.live_feed_window_ms / 1000, s.live_spans and s.spans_in_memory)
        self.alerts = Alerts(host, s.alerts, self.metrics_snapshot)
        self.store: TelemetryStore | None = None
        self.exporter: Exporter | None = None
        self.rejected_frames = 0
        self.dropped_spans = 0
        self._handler: StoreHandler | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Latest resource gauges per connected worker id (spec §9.2), 2-minute look-back.
        self.worker_metrics: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def keeps_spans(self) -> bool:
        return self.settings.enabled and self.settings.spans_in_memory

    @property
    def keeps_logs(self) -> bool:
        return self.settings.logs_enabled and self.settings.logs_exporter in ("memory", "both")

    async def start(self) -> None:
        s, host = self.settings, self.host
        span_caps = Caps(s.max_spans, s.max_bytes, s.retention_seconds)
        log_caps = Caps(s.logs_max_count, s.max_bytes, s.logs_retention_seconds)
        if s.store == "sqlite":
            cfg = self.config
            self.store = await asyncio.to_thread(
                SqliteStore, s.store_path, span_caps, log_caps, batch_size=cfg.store_batch_size,
                flush_interval_ms=cfg.store_flush_interval_ms, queue_max=cfg.store_queue_max)
        else:
            self.store = MemoryStore(span_caps, log_caps)
        self.exporter = Exporter(s)
        Functions(self).register()
        host.register_function(WORKER_METRICS, self._worker_metrics, worker=self.entry_id,
                               metadata={"internal": True},
                               description="A connected worker's latest resource gauges (in-process only)")
        host.tracer.untraced.add(WORKER_METRICS)
        await host.register_trigger_type("log", self.dispatcher.logs, worker=self.entry_id,
                                         description="Fires for every stored log; config {level?}")
        await host.register_trigger_type("trace", self.dispatcher.traces, worker=self.entry_id,
                                         description="Coalesced 'traces changed' tick; config {service_name?, status?}")
        host.set_frame_sink(self.on_frame)
        if s.metrics_enabled:
            host.add_call_observer(self.metrics.observe)
            host.add_local_stats_observer(self.metrics.observe_local)
            host.on_worker_event(self._on_worker_event)
            self.exporter.start_metrics(self.metrics_snapshot)
        if s.enabled and (self.keeps_spans or self.exporter.exports_spans):
            host.tracer.trace_builtins = s.trace_builtins
            host.tracer.install(self.on_engine_span, self.sampler)
        if s.logs_enabled:
            self._handler = StoreHandler(self.store_logs_one, s.service_name, _LEVELS[s.level])
            logging.getLogger().addHandler(self._handler)
        self._spawn(self._housekeeping())
        if s.alerts:
            self._spawn(self._alert_loop())

    async def stop(self) -> None:
        host = self.host
        host.tracer.uninstall()
        host.clear_frame_sink(self.on_frame)
        host.remove_call_observer(self.metrics.observe)
        host.remove_local_stats_observer(self.metrics.observe_local)
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
        self.dispatcher.close()
        for task in list(self._tasks):
            task.cancel()
        if self.exporter is not None:
            await asyncio.to_thread(self.exporter.shutdown)
        if self.store is not None:
            await self.store.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if isinstance(self.store, MemoryStore):
                self.store.prune()
            expire_worker_gauges(self.worker_metrics, set(self.host.connected_workers))

    async def _alert_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.alert_interval_seconds)
            try:
                await self.alerts.evaluate()
            except Exception:
                log.exception("alert evaluation failed")

    async def _worker_metrics(self, data: Any, ctx: CallContext) -> dict[str, Any]:
        """``{worker_id}`` -> ``{metrics: {...} | null}``. Refused to remote callers: the
        reference exposes these gauges only inside ``engine::workers::info``."""
        if ctx.caller is not None:
            raise FunctionError(error_codes.FORBIDDEN, f"{WORKER_METRICS} is internal to the engine")
        worker_id = data.get("worker_id") if isinstance(data, dict) else None
        if not isinstance(worker_id, str):
            raise FunctionError(error_codes.INVALID_ARGUMENTS, "worker_id (a string) is required")
        return {"metrics": self.worker_metrics.get(worker_id)}

    def _on_worker_event(self, event: str, worker_id: str) -> None:
        self.metrics.worker_event(event)
        if event == "worker_disconnected":
            self.worker_metrics.pop(worker_id, None)

    # ------------------------------------------------------------------ spans

    def on_engine_span(self, span: Span) -> None:
        """The engine tracer's recorder: every finished sampled engine span."""
        store = self.store
        if isinstance(store, MemoryStore) and store.has_deferred:
            store.settle()  # its parent may be waiting in a deferred batch
        record = span_record(span, self.settings.service_name)
        enrich(self.host, record, self._parent_trigger(record))
        self.store_spans([record])

    def _parent_trigger(self, record: dict[str, Any]) -> str | None:
        """The trigger type of the span's parent: stored, or a trigger span still running."""
        parent_id = record.get("parent_span_id")
        if not parent_id:
            return None
        store = self.store
        if isinstance(store, MemoryStore):
            entry = store._spans.get((record["trace_id"], parent_id))
            if entry is not None:
                return trigger_of(entry[2])
        return self.host.tracer.open_trigger(parent_id)

    def store_spans(self, records: list[dict[str, Any]]) -> None:
        if self.keeps_spans and self.store is not None:
            self.store.add_spans(records)
            self.dispatcher.on_spans(records)
        if self.exporter is not None and self.settings.enabled:
            self.exporter.spans(records)

    # ------------------------------------------------------------------ logs

    def store_logs(self, records: list[dict[str, Any]]) -> None:
        if not self.settings.logs_enabled:
            return
        ratio = self.settings.logs_sampling_ratio
        if ratio < 1.0:
            import random

            records = [r for r in records if random.random() < ratio]
        if not records:
            return
        if self.keeps_logs and self.store is not None:
            self.store.add_logs(records)
        if self.exporter is not None:
            self.exporter.logs(records)
        self.dispatcher.on_logs(records)

    def store_logs_one(self, record: dict[str, Any]) -> None:
        self.store_logs([record])

    def print_log(self, record: dict[str, Any]) -> None:
        """``logs_console_output``: SDK / ``engine::log::*`` logs on the engine's console."""
        if not self.settings.logs_console_output:
            return
        if self.settings.format == "json":
            import orjson

            print(orjson.dumps(record, default=str).decode(), flush=False)
        else:
            console_line(record)

    # ------------------------------------------------------------------ telemetry frames

    def on_frame(self, prefix: bytes, payload: bytes) -> None:
        """The host's frame sink: an ``OTLP`` / ``MTRC`` / ``LOGS`` frame from /otel or /."""
        if len(payload) > self.config.max_frame_bytes:
            self.rejected_frames += 1
            log.warning("telemetry frame of %d bytes over max_frame_bytes=%d dropped", len(payload),
                        self.config.max_frame_bytes)
            return
        if len(payload) > _DECODE_INLINE_BYTES:
            self._spawn(self._decode_in_thread(prefix, payload))
            return
        if prefix == b"OTLP" and self._defers_spans() and self._defer(payload):
            return
        self._accept(prefix, self._decode(prefix, payload))

    def _defers_spans(self) -> bool:
        """SDK spans can wait to be decoded until the store is read: they go only to the memory
        store (no export, no trigger or live feed waiting) and none are sampled out by trace id."""
        return (isinstance(self.store, MemoryStore) and self.keeps_spans and self.sampler.default_ratio >= 1.0
                and not (self.exporter is not None and self.exporter.exports_spans)
                and not self.dispatcher.wants_spans())

    def _defer(self, payload: bytes) -> bool:
        """Check the frame's outline now (a malformed one is rejected on arrival as ever) and leave
        the per-span work to :meth:`MemoryStore.settle`. False: decode it now instead."""
        try:
            doc, count, names = otlp_json.scan_traces(payload)
        except TypeError:
            return False
        except (otlp_json.OtlpDecodeError, ValueError, AttributeError) as exc:
            self.rejected_frames += 1
            log.warning("malformed OTLP telemetry frame dropped: %s", exc)
            return True
        if not count:
            return True
        # The registry as it is now: a worker gone by read time still names its spans.
        entries = {name: self.host.functions.get(fid) for name in names
                   if isinstance(name, str) and (fid := invoked_function(name)) is not None}
        assert isinstance(self.store, MemoryStore)
        self.store.add_deferred(count, 2 * len(payload) + RECORD_OVERHEAD_BYTES * count,
                                lambda: self._decode_deferred(doc, entries))
        return True

    def _decode_deferred(self, doc: dict[str, Any], entries: dict[str, FunctionEntry | None]) -> list[dict[str, Any]]:
        try:
            records = otlp_json.decode_trace_doc(doc).records
        except (otlp_json.OtlpDecodeError, TypeError, ValueError, AttributeError) as exc:
            self.rejected_frames += 1
            log.warning("malformed OTLP telemetry frame dropped: %s", exc)
            return []
        host, parent_trigger = self.host, self._parent_trigger
        for record in records:
            enrich(host, record, parent_trigger(record), entries)
        return records

    async def _decode_in_thread(self, prefix: bytes, payload: bytes) -> None:
        self._accept(prefix, await asyncio.to_thread(self._decode, prefix, payload))

    def _decode(self, prefix: bytes, payload: bytes) -> otlp_json.Decoded | None:
        try:
            if prefix == b"OTLP":
                return otlp_json.decode_traces(payload)
            if prefix == b"LOGS":
                return otlp_json.decode_logs(payload)
            if prefix == b"MTRC":
                return otlp_json.decode_metrics(payload)
        except (otlp_json.OtlpDecodeError, TypeError, ValueError, AttributeError) as exc:
            self.rejected_frames += 1
            log.warning("malformed %s telemetry frame dropped: %s", prefix.decode(errors="replace"), exc)
        return None

    def _accept(self, prefix: bytes, decoded: otlp_json.Decoded | None) -> None:
        if decoded is None:
            return
        if prefix == b"OTLP":
            store = self.store
            if isinstance(store, MemoryStore) and store.has_deferred:
                store.settle()  # keep arrival order (eviction, parent lookups) with deferred batches
            kept = decoded.records
            if self.sampler.default_ratio < 1.0:
                keeps = self.sampler.keeps_ingested
                kept = [r for r in kept if keeps(r["trace_id"])]
                self.dropped_spans += len(decoded.records) - len(kept)
            host, parent_trigger = self.host, self._parent_trigger
            for record in kept:
                enrich(host, record, parent_trigger(record))
            if kept:
                self.store_spans(kept)
        elif prefix == b"LOGS":
            for record in decoded.records:
                self.print_log(record)
            self.store_logs(decoded.records)
        elif self.settings.metrics_enabled:
            runtimes = {wid: peer.metadata.runtime for wid, peer in self.host.connected_workers.items()}
            apply_worker_gauges(decoded.records, self.worker_metrics, runtimes)
            self.metrics.add_sdk_points(decoded.records)

    # ------------------------------------------------------------------ metrics

    def metrics_snapshot(self) -> dict[str, Any]:
        return {
            "invocations": self.metrics.invocations(),
            "workers": {"spawns": self.metrics.spawns, "deaths": self.metrics.deaths,
                        "active": len(self.host.connected_workers)},
            "performance": self.metrics.performance(),
        }
