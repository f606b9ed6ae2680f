"""Opt-in span export to the engine, as the official SDKs do: OTLP/JSON after the ``OTLP``
prefix on a second WebSocket to ``<engine>/otel`` (spec/protocol.md §9.3).

Enabled only by ``otel={"enabled": True}`` (or ``OtelConfig(enabled=True)``) or env
``OTEL_ENABLED=true``; pyiii.sdk does nothing with OpenTelemetry otherwise. Installs a global
``TracerProvider`` unless the application already configured one, in which case only the
exporter is added to it. Spans are queued and sent in batches from one thread with a
synchronous WebSocket (:mod:`.otel_spans`); a batch that cannot be sent is dropped (telemetry
never blocks work).

When pyiii installed the provider itself (default sampler, no processor but its own), the
SDK's ``execute`` spans skip the OpenTelemetry SDK: :mod:`.tracing` records a cheap
``FastSpan`` straight into the export queue (:func:`fast_processor`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from .otel_spans import EngineSpanProcessor

log = logging.getLogger("pyiii.sdk.otel")

_installed = False
_lock = threading.Lock()
#: ``(get_tracer_provider, provider, processor)`` while FastSpans may be used: pyiii owns the
#: global provider.
_fast: tuple[Callable[[], Any], Any, EngineSpanProcessor] | None = None


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


def _default_sampling() -> bool:
    """The provider samples as ``parentbased_always_on``: what the fast path implements."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() in ("", "parentbased_always_on")


def install(address: str, otel: Any) -> None:
    """Idempotent: one exporter per process, like the official SDKs."""
    global _installed, _fast
    with _lock:
        if _installed or not wanted(otel):
            return
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider

            from .otel_spans import EngineSpanExporter, EngineSpanProcessor
        except ImportError:
            log.warning("otel enabled but opentelemetry-sdk is not installed; spans are not exported")
            return
        get = otel.get if isinstance(otel, dict) else lambda k, d=None: getattr(otel, k, d)
        provider = trace.get_tracer_provider()
        owned = False
        if not isinstance(provider, TracerProvider):
            owned = True
            service = get("service_name") or os.environ.get("OTEL_SERVICE_NAME") or "pyiii-sdk"
            provider = TracerProvider(resource=Resource.create({"service.name": service,
                                                                "telemetry.sdk.name": "pyiii-sdk"}))
            trace.set_tracer_provider(provider)
        delay = get("spans_flush_interval_ms") or 100
        processor = EngineSpanProcessor(EngineSpanExporter(otel_url(address, otel)), delay / 1000,
                                        provider.resource)
        provider.add_span_processor(processor)
        # An application's own provider may sample differently or export elsewhere: real SDK spans.
        if owned and trace.get_tracer_provider() is provider and _default_sampling():
            _fast = (trace.get_tracer_provider, provider, processor)
        _installed = True


def fast_processor() -> EngineSpanProcessor | None:
    """Where ``FastSpan`` s go, or None when real SDK spans are needed: no export installed,
    pyiii's provider was replaced, or the application added processors of its own to it."""
    fast = _fast
    if fast is None:
        return None
    current_provider, provider, processor = fast
    if current_provider() is not provider:
        return None
    processors = getattr(getattr(provider, "_active_span_processor", None), "_span_processors", None)
    if processors != (processor,):
        return None
    return processor
