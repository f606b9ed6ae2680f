"""Opt-in span export to the engine, as the official SDKs do: OTLP/JSON after the ``OTLP``
prefix on a second WebSocket to ``<engine>/otel`` (spec/protocol.md §9.3).

Enabled only by ``otel={"enabled": True}`` (or ``OtelConfig(enabled=True)``) or env
``OTEL_ENABLED=true``; pyiii.sdk does nothing with OpenTelemetry otherwise. Installs a global
``TracerProvider`` unless the application already configured one, in which case only the
exporter is added to it. The exporter runs in the batch processor's thread with a
synchronous WebSocket; a batch that cannot be sent is dropped (telemetry never blocks work).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("pyiii.sdk.otel")

_installed = False
_lock = threading.Lock()


def wanted(otel: Any) -> bool:
    enabled = otel.get("enabled") if isinstance(otel, dict) else getattr(otel, "enabled", None)
    if enabled is not None:
        return bool(enabled)
    return os.environ.get("OTEL_ENABLED", "").strip().lower() in ("1", "true", "yes", "on")


def otel_url(address: str, otel: Any) -> str:
    explicit = otel.get("engine_ws_url") if isinstance(otel, dict) else getattr(otel, "engine_ws_url", None)
    parts = urlsplit(explicit or address)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path if path.endswith("/otel") else path + "/otel", parts.query, ""))


def install(address: str, otel: Any) -> None:
    """Idempotent: one exporter per process, like the official SDKs."""
    global _installed
    with _lock:
        if _installed or not wanted(otel):
            return
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            log.warning("otel enabled but opentelemetry-sdk is not installed; spans are not exported")
            return
        get = otel.get if isinstance(otel, dict) else lambda k, d=None: getattr(otel, k, d)
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            service = get("service_name") or os.environ.get("OTEL_SERVICE_NAME") or "pyiii-sdk"
            provider = TracerProvider(resource=Resource.create({"service.name": service,
                                                                "telemetry.sdk.name": "pyiii-sdk"}))
            trace.set_tracer_provider(provider)
        delay = get("spans_flush_interval_ms") or 100
        exporter: Any = EngineSpanExporter(otel_url(address, otel))  # duck-types SpanExporter
        provider.add_span_processor(BatchSpanProcessor(exporter,
                                                       schedule_delay_millis=delay))
        _installed = True


class EngineSpanExporter:
    """An OpenTelemetry ``SpanExporter`` writing ``OTLP`` frames to the engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ws: Any = None

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        frame = b"OTLP" + serialize(spans)
        for _attempt in range(2):
            try:
                if self._ws is None:
                    self._ws = connect(self.url, open_timeout=5, compression=None)
                self._ws.send(frame)
                return SpanExportResult.SUCCESS
            except (OSError, WebSocketException) as exc:
                log.debug("span export to %s failed: %s", self.url, exc)
                self._ws = None
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list | tuple):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def _attrs(attrs: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in (attrs or {}).items()]


def serialize(spans: Sequence[Any]) -> bytes:
    """ReadableSpans -> OTLP/JSON ``ExportTraceServiceRequest`` with hex ids (the OTLP/JSON rule)."""
    by_resource: dict[int, tuple[Any, list[Any]]] = {}
    for span in spans:
        by_resource.setdefault(id(span.resource), (span.resource, []))[1].append(span)
    resource_spans = []
    for resource, members in by_resource.values():
        out = []
        for s in members:
            item: dict[str, Any] = {
                "traceId": format(s.context.trace_id, "032x"),
                "spanId": format(s.context.span_id, "016x"),
                "name": s.name,
                "kind": s.kind.value + 1,  # OTLP numbering starts at UNSPECIFIED=0
                "startTimeUnixNano": str(s.start_time or 0),
                "endTimeUnixNano": str(s.end_time or 0),
                "attributes": _attrs(s.attributes),
                "events": [{"name": e.name, "timeUnixNano": str(e.timestamp), "attributes": _attrs(e.attributes)}
                           for e in s.events],
                "status": {"code": s.status.status_code.value, "message": s.status.description or ""},
            }
            if s.parent is not None:
                item["parentSpanId"] = format(s.parent.span_id, "016x")
            out.append(item)
        resource_spans.append({"resource": {"attributes": _attrs(resource.attributes)},
                               "scopeSpans": [{"scope": {"name": "pyiii-sdk"}, "spans": out}]})
    return json.dumps({"resourceSpans": resource_spans}).encode()
