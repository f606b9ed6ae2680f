"""Configuration types accepted by ``register_worker`` (field names match iii-sdk)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

IIIConnectionState = Literal["disconnected", "connecting", "connected", "reconnecting", "failed"]
ConnectionStateCallback = Callable[[IIIConnectionState], None]

DEFAULT_INVOCATION_TIMEOUT_MS: Final = 30_000
#: Messages kept while disconnected; the oldest is dropped beyond this.
MAX_QUEUE_SIZE: Final = 1000
#: Largest frame accepted from the engine. The websockets default (1 MiB) would close the
#: connection on a large payload the engine happily routes (spec/protocol.md §1.5).
DEFAULT_MAX_MESSAGE_SIZE: Final = 64 * 1024 * 1024


def default_sync_workers() -> int:
    """Same sizing rule as ``concurrent.futures.ThreadPoolExecutor``."""
    return min(32, (os.cpu_count() or 1) + 4)


@dataclass
class ReconnectionConfig:
    """Exponential backoff with jitter; ``max_retries=-1`` retries forever."""

    initial_delay_ms: int = 1000
    max_delay_ms: int = 30000
    backoff_multiplier: float = 2.0
    jitter_factor: float = 0.3
    max_retries: int = -1


@dataclass
class OtelConfig:
    """Field names as iii-sdk. Unlike iii-sdk, export is opt-in: ``enabled=True`` (or env
    ``OTEL_ENABLED=true``) sends ``execute <function_id>`` spans to the engine's ``/otel``
    (sdk/otel_export.py); an application-configured OpenTelemetry SDK gets the spans instead."""

    enabled: bool | None = None
    service_name: str | None = None
    service_version: str | None = None
    service_namespace: str | None = None
    service_instance_id: str | None = None
    engine_ws_url: str | None = None
    fetch_instrumentation_enabled: bool = True
    spans_flush_interval_ms: int | None = None
    logs_enabled: bool | None = None
    logs_flush_interval_ms: int | None = None
    logs_batch_size: int | None = None
    metrics_enabled: bool = True
    metrics_export_interval_ms: int = 60000


@dataclass
class TelemetryOptions:
    """Worker metadata reported to ``engine::workers::register``."""

    language: str | None = None
    project_name: str | None = None
    framework: str | None = None
    amplitude_api_key: str | None = None


@dataclass
class InitOptions:
    """Options for ``register_worker``. The first eight fields mirror iii-sdk; the rest are
    pyiii additions with safe defaults."""

    worker_name: str | None = None
    worker_description: str | None = None
    enable_metrics_reporting: bool = True
    invocation_timeout_ms: int = DEFAULT_INVOCATION_TIMEOUT_MS
    reconnection_config: ReconnectionConfig | None = None
    otel: OtelConfig | dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    telemetry: TelemetryOptions | None = None
    #: Size of the thread pool running sync handlers (default ``min(32, cpus + 4)``).
    sync_handler_workers: int | None = None
    #: Largest engine -> worker frame accepted, in bytes.
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    #: WebSocket keepalive: ping interval and pong deadline, in seconds.
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    #: iii 0.23+: the worker's namespace (env ``III_NAMESPACE`` when None); its functions and
    #: calls live there. None: ``default``, and nothing namespaced is sent (as 0.22.1).
    namespace: str | None = None
    #: iii 0.25: seconds between two ``localinvocationstats`` frames (sent only when non-zero).
    local_stats_interval_s: float = 10.0
    #: iii 0.25: how long an ``on_observer_added`` hook may run before its observer is rejected
    #: with ``OWNER_TIMEOUT`` (the official SDK's 30 s).
    observe_hook_timeout_s: float = 30.0


@dataclass
class FunctionRef:
    """Handle of a registered function. ``is_observed()`` / ``observers()``: its active observers
    as this owner sees them (iii 0.25; always empty against an engine without observe)."""

    id: str
    unregister: Callable[[], None]
    observers: Callable[[], list[Any]] = list
    is_observed: Callable[[], bool] = bool
