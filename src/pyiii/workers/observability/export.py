"""Export through the OpenTelemetry SDK: stored records become its ``ReadableSpan`` /
``ReadWriteLogRecord`` and go through its batch processors (own thread, bounded queue that
drops when the collector falls behind) to its OTLP (gRPC or HTTP) and console exporters.
Engine metrics are exposed as observable instruments read by a periodic OTLP reader."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry._logs.severity import SeverityNumber
from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from pyiii.workers.observability.config import Settings

log = logging.getLogger("pyiii.observability.export")

_KINDS = {"internal": SpanKind.INTERNAL, "server": SpanKind.SERVER, "client": SpanKind.CLIENT,
          "producer": SpanKind.PRODUCER, "consumer": SpanKind.CONSUMER}
_STATUS = {"ok": StatusCode.OK, "error": StatusCode.ERROR}
SCOPE = InstrumentationScope("pyiii")
_MAX_RESOURCES = 1024


def _signal_url(endpoint: str, path: str) -> str:
    base = endpoint.rstrip("/")
    return base if base.endswith(path) else base + path


def span_exporters(settings: Settings) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    if settings.spans_to_otlp:
        if settings.otlp_protocol.startswith("http"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

            exporters.append(HttpSpanExporter(endpoint=_signal_url(settings.endpoint, "/v1/traces")))
        else:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

            exporters.append(GrpcSpanExporter(endpoint=settings.endpoint,
                                              insecure=settings.endpoint.startswith("http://")))
    if settings.raw.trace_console_output:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporters.append(ConsoleSpanExporter())
    return exporters


class Exporter:
    """Feeds stored spans/logs to the SDK's processors; a no-op when nothing is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._resources: dict[str, Resource] = {}
        self._span_processors = [
            BatchSpanProcessor(exporter, schedule_delay_millis=200) for exporter in span_exporters(settings)
        ]
        self._log_processor: BatchLogRecordProcessor | None = None
        if settings.logs_enabled and settings.logs_exporter in ("otlp", "both"):
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

            self._log_processor = BatchLogRecordProcessor(
                OTLPLogExporter(endpoint=_signal_url(settings.endpoint, "/v1/logs")),
                schedule_delay_millis=settings.logs_flush_interval_ms,
                max_export_batch_size=settings.logs_batch_size,
            )
        self._meter_provider: Any = None

    @property
    def exports_spans(self) -> bool:
        return bool(self._span_processors)

    @property
    def exports_logs(self) -> bool:
        return self._log_processor is not None

    def _resource(self, service: str) -> Resource:
        resource = self._resources.get(service)
        if resource is None:
            if len(self._resources) >= _MAX_RESOURCES:
                self._resources.clear()
            attrs: dict[str, Any] = {"service.name": service}
            if service == self.settings.service_name:
                attrs["service.version"] = self.settings.service_version
                if self.settings.service_namespace:
                    attrs["service.namespace"] = self.settings.service_namespace
            resource = self._resources[service] = Resource.create(attrs)
        return resource

    def spans(self, records: Iterable[dict[str, Any]]) -> None:
        if not self._span_processors:
            return
        for record in records:
            if record.get("pending"):
                continue
            try:
                span = self.to_readable_span(record)
            except (KeyError, TypeError, ValueError):
                log.debug("span %s not exportable", record.get("span_id"))
                continue
            for processor in self._span_processors:
                processor.on_end(span)

    def to_readable_span(self, r: dict[str, Any]) -> ReadableSpan:
        trace_id = int(r["trace_id"], 16)
        context = SpanContext(trace_id, int(r["span_id"], 16), False, TraceFlags(TraceFlags.SAMPLED))
        parent = (SpanContext(trace_id, int(r["parent_span_id"], 16), True, TraceFlags(TraceFlags.SAMPLED))
                  if r.get("parent_span_id") else None)
        scope = (InstrumentationScope(r["instrumentation_scope_name"], r.get("instrumentation_scope_version"))
                 if r.get("instrumentation_scope_name") else SCOPE)
        status_code = _STATUS.get(r.get("status") or "", StatusCode.UNSET)
        return ReadableSpan(
            name=r["name"],
            context=context,
            parent=parent,
            resource=self._resource(r.get("service_name") or self.settings.service_name),
            attributes=dict(r.get("attributes") or ()),
            events=[Event(e["name"], dict(e.get("attributes") or ()), e["timestamp_unix_nano"])
                    for e in r.get("events") or ()],
            links=[Link(SpanContext(int(lk["trace_id"], 16), int(lk["span_id"], 16), True), dict(lk.get("attributes")
                                                                                               or ()))
                   for lk in r.get("links") or () if lk.get("trace_id") and lk.get("span_id")],
            kind=_KINDS.get(r.get("kind") or "", SpanKind.INTERNAL),
            status=Status(status_code, r.get("status_description") if status_code is StatusCode.ERROR else None),
            start_time=r["start_time_unix_nano"],
            end_time=r["end_time_unix_nano"],
            instrumentation_scope=scope,
        )

    def logs(self, records: Iterable[dict[str, Any]]) -> None:
        processor = self._log_processor
        if processor is None:
            return
        for r in records:
            number = r.get("severity_number") or 0
            record = LogRecord(
                timestamp=r["timestamp_unix_nano"],
                observed_timestamp=r.get("observed_timestamp_unix_nano") or r["timestamp_unix_nano"],
                trace_id=int(r["trace_id"], 16) if r.get("trace_id") else None,
                span_id=int(r["span_id"], 16) if r.get("span_id") else None,
                trace_flags=TraceFlags(TraceFlags.SAMPLED) if r.get("trace_id") else None,
                severity_text=r.get("severity_text"),
                severity_number=SeverityNumber(number) if 1 <= number <= 24 else SeverityNumber.UNSPECIFIED,
                body=r.get("body"),
                attributes={k: v if isinstance(v, str | int | float | bool) else str(v)
                            for k, v in (r.get("attributes") or {}).items()},
            )
            processor.on_emit(ReadWriteLogRecord(record, self._resource(r.get("service_name") or "unknown")))

    def start_metrics(self, read: Callable[[], dict[str, Any]]) -> None:
        """Engine metrics as observable instruments pushed by a periodic OTLP reader."""
        settings = self.settings
        if not (settings.metrics_enabled and settings.metrics_exporter == "otlp"):
            return
        from opentelemetry.metrics import CallbackOptions, Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        if settings.otlp_protocol.startswith("http"):
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetric

            exporter: Any = HttpMetric(endpoint=_signal_url(settings.endpoint, "/v1/metrics"))
        else:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetric

            exporter = GrpcMetric(endpoint=settings.endpoint, insecure=settings.endpoint.startswith("http://"))
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=10_000)
        self._meter_provider = MeterProvider(metric_readers=[reader], resource=self._resource(settings.service_name))
        meter = self._meter_provider.get_meter("pyiii")

        def counter(key: str) -> Callable[[CallbackOptions], list[Observation]]:
            def observe(_options: CallbackOptions) -> list[Observation]:
                by_fn = read()["invocations"]["by_function"]
                return [Observation(c[key], {"function_id": fid}) for fid, c in by_fn.items()]
            return observe

        meter.create_observable_counter("iii.invocations", [counter("total")], description="Calls per function")
        meter.create_observable_counter("iii.invocations.errors", [counter("error")], description="Failed calls")
        meter.create_observable_gauge(
            "iii.workers.active", [lambda _o: [Observation(read()["workers"]["active"])]], description="Workers")
        meter.create_observable_gauge(
            "iii.invocation.duration.p99", [lambda _o: [Observation(read()["performance"]["p99_duration_ms"])]],
            unit="ms")

    def shutdown(self) -> None:
        for processor in self._span_processors:
            processor.shutdown()  # type: ignore[no-untyped-call]
        if self._log_processor is not None:
            self._log_processor.shutdown()  # type: ignore[no-untyped-call]
        if self._meter_provider is not None:
            self._meter_provider.shutdown()
