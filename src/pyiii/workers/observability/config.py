"""``iii-observability`` config (spec/workers.md §11.1) and its resolution into :class:`Settings`.

Every key is optional in the block so that "missing" can be told apart from "set": with no
block (or an empty one) the built-in defaults apply; a block with spec keys missing falls back
to the environment, then to the runtime defaults (which differ: ``enabled`` false, ``exporter``
otlp, ``memory_max_spans`` 1000). The pyiii storage keys (``store``...) do not switch modes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

Operator = Literal[
    ">", ">=", "<", "<=", "==", "!=",
    "greaterthan", "greaterthanorequal", "lessthan", "lessthanorequal", "equal", "notequal",
]


class AlertAction(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["log", "webhook", "function"] = "log"
    url: str | None = None
    path: str | None = None


class AlertRule(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    metric: str
    threshold: float
    operator: Operator = ">"
    window_seconds: int = 60
    cooldown_seconds: int = 60
    enabled: bool = True
    action: AlertAction = msgspec.field(default_factory=AlertAction)


class SamplingRule(msgspec.Struct, forbid_unknown_fields=True):
    rate: float
    operation: str | None = None
    service: str | None = None


class RateLimit(msgspec.Struct, forbid_unknown_fields=True):
    max_traces_per_second: float


class SamplingConfig(msgspec.Struct, forbid_unknown_fields=True):
    default: float | None = None
    rules: list[SamplingRule] = msgspec.field(default_factory=list)
    parent_based: bool | None = None
    rate_limit: RateLimit | None = None


class CollapseRule(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    service: str | None = None


class ObservabilityConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    # ---- spec keys (None = not in the block)
    enabled: bool | None = None
    service_name: str | None = None
    service_version: str | None = None
    service_namespace: str | None = None
    exporter: Literal["memory", "otlp", "both"] | None = None
    endpoint: str | None = None
    sampling_ratio: float | None = None
    memory_max_spans: int | None = None
    live_spans: bool | None = None
    metrics_enabled: bool | None = None
    metrics_exporter: Literal["memory", "otlp"] | None = None
    metrics_retention_seconds: int | None = None
    metrics_max_count: int | None = None
    logs_enabled: bool | None = None
    logs_exporter: Literal["memory", "otlp", "both"] | None = None
    logs_max_count: int | None = None
    logs_retention_seconds: int | None = None
    logs_sampling_ratio: float | None = None
    logs_console_output: bool | None = None
    logs_batch_size: int | None = None
    logs_flush_interval_ms: int | None = None
    level: Literal["trace", "debug", "info", "warn", "error"] | None = None
    format: Literal["default", "json"] | None = None
    alerts: list[AlertRule] | None = None
    sampling: SamplingConfig | None = None
    collapse_spans: list[CollapseRule] | None = None
    # ---- pyiii keys: where spans and logs are kept, and how much of them
    store: Literal["memory", "sqlite"] = "memory"
    store_path: str | None = None
    max_spans: int | None = None
    max_logs: int | None = None
    #: Approximate bytes of spans (and, separately, of logs) kept.
    max_bytes: int = 256 * 1024 * 1024
    #: Spans older than this are dropped (logs use ``logs_retention_seconds``).
    retention_seconds: int = 3600
    #: SQLite: largest batch per transaction, and how long a write may wait for its batch.
    store_batch_size: int = 512
    store_flush_interval_ms: int = 50
    #: Writes waiting for the SQLite thread; the oldest are dropped beyond this.
    store_queue_max: int = 50_000
    #: OTLP transport for traces and metrics (default from ``OTEL_EXPORTER_OTLP_PROTOCOL``).
    otlp_protocol: Literal["grpc", "http/protobuf"] | None = None
    #: Print every finished engine/SDK span to stdout with the OTel console exporter.
    trace_console_output: bool = False
    #: Largest telemetry frame decoded, bytes (bigger ones are dropped with a warning).
    max_frame_bytes: int = 16 * 1024 * 1024
    #: Durations kept for the percentile figures of ``engine::metrics::list``.
    duration_samples: int = 10_000
    #: Distinct function ids with their own counters (others are folded into ``_other``).
    max_tracked_functions: int = 10_000
    #: Coalescing window of the ``trace`` trigger and the console live feeds.
    live_feed_window_ms: int = 300
    alert_interval_seconds: int = 10


SPEC_KEYS = frozenset(
    f for f in ObservabilityConfig.__struct_fields__
    if f not in {"store", "store_path", "max_spans", "max_logs", "max_bytes", "retention_seconds",
                 "store_batch_size", "store_flush_interval_ms", "store_queue_max", "otlp_protocol",
                 "trace_console_output", "max_frame_bytes", "duration_samples", "max_tracked_functions",
                 "live_feed_window_ms", "alert_interval_seconds"}
)


@dataclass(slots=True)
class Settings:
    """The resolved configuration the worker runs with."""

    enabled: bool
    service_name: str
    service_version: str
    service_namespace: str | None
    exporter: str
    endpoint: str
    sampling_ratio: float
    live_spans: bool
    metrics_enabled: bool
    metrics_exporter: str
    metrics_retention_seconds: int
    metrics_max_count: int
    logs_enabled: bool
    logs_exporter: str
    logs_max_count: int
    logs_retention_seconds: int
    logs_sampling_ratio: float
    logs_console_output: bool
    logs_batch_size: int
    logs_flush_interval_ms: int
    level: str
    format: str
    otlp_protocol: str
    store: str
    store_path: Path
    max_spans: int
    max_bytes: int
    retention_seconds: int
    raw: ObservabilityConfig
    alerts: list[AlertRule] = field(default_factory=list)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    trace_builtins: bool = False

    @property
    def spans_in_memory(self) -> bool:
        return self.exporter in ("memory", "both")

    @property
    def spans_to_otlp(self) -> bool:
        return self.enabled and self.exporter in ("otlp", "both")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _env_bool(name: str) -> bool | None:
    value = _env(name)
    return None if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _env_num(name: str, kind: type[Any]) -> Any:
    value = _env(name)
    try:
        return None if value is None else kind(value)
    except ValueError:
        return None


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _ratio(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _count(name: str, value: int) -> int:
    if value < 1:
        raise ValueError(f"iii-observability: {name} must be >= 1 (got {value})")
    return int(value)


def has_block(cfg: ObservabilityConfig) -> bool:
    """True when the block sets any spec key (an empty block counts as no block)."""
    return any(getattr(cfg, key) is not None for key in SPEC_KEYS)


def resolve(cfg: ObservabilityConfig, project_dir: Path, data_dir: Path, engine_version: str) -> Settings:
    block = has_block(cfg)
    protocol = cfg.otlp_protocol or _first(_env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
                                           _env("OTEL_EXPORTER_OTLP_PROTOCOL")) or "grpc"
    if block:
        exporter = _first(cfg.exporter, _env("OTEL_EXPORTER_TYPE"), "otlp")
        common = dict(
            enabled=_first(cfg.enabled, _env_bool("OTEL_ENABLED"), False),
            service_name=_first(cfg.service_name, _env("OTEL_SERVICE_NAME"), "iii"),
            service_version=_first(cfg.service_version, _env("SERVICE_VERSION"), "unknown"),
            service_namespace=_first(cfg.service_namespace, _env("SERVICE_NAMESPACE")),
            exporter=exporter,
            endpoint=_first(cfg.endpoint, _env("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4317"),
            sampling_ratio=_first(cfg.sampling_ratio, _env_num("OTEL_TRACES_SAMPLER_ARG", float), 1.0),
            memory_max_spans=_first(cfg.memory_max_spans, _env_num("OTEL_MEMORY_MAX_SPANS", int), 1000),
            live_spans=_first(cfg.live_spans, _env_bool("OTEL_LIVE_SPANS"), exporter == "memory"),
            metrics_enabled=_first(cfg.metrics_enabled, _env_bool("OTEL_METRICS_ENABLED"), False),
            metrics_exporter=_first(cfg.metrics_exporter, _env("OTEL_METRICS_EXPORTER"), "memory"),
            metrics_retention_seconds=_first(
                cfg.metrics_retention_seconds, _env_num("OTEL_METRICS_RETENTION_SECONDS", int), 3600),
            metrics_max_count=_first(cfg.metrics_max_count, _env_num("OTEL_METRICS_MAX_COUNT", int), 10000),
            logs_exporter=_first(cfg.logs_exporter, _env("OTEL_LOGS_EXPORTER"), "memory"),
            logs_batch_size=_first(cfg.logs_batch_size, _env_num("OTEL_LOGS_BATCH_SIZE", int), 100),
            logs_flush_interval_ms=_first(cfg.logs_flush_interval_ms, _env_num("OTEL_LOGS_FLUSH_INTERVAL_MS", int),
                                          1000),
        )
    else:
        common = dict(
            enabled=True, service_name="iii", service_version=_env("SERVICE_VERSION") or engine_version,
            service_namespace=None, exporter="memory", endpoint="http://localhost:4317", sampling_ratio=1.0,
            memory_max_spans=1_000_000, live_spans=True, metrics_enabled=True, metrics_exporter="memory",
            metrics_retention_seconds=3600, metrics_max_count=10000, logs_exporter="memory",
            logs_batch_size=100, logs_flush_interval_ms=1000,
        )
    _validate(common)
    sampling = cfg.sampling or SamplingConfig()
    memory_max_spans = _count("memory_max_spans", common.pop("memory_max_spans"))
    store_path = project_dir / cfg.store_path if cfg.store_path else data_dir / "observability.db"
    return Settings(
        **common,
        logs_enabled=_first(cfg.logs_enabled, True),
        logs_max_count=_count("logs_max_count", _first(cfg.max_logs, cfg.logs_max_count, 1000)),
        logs_retention_seconds=_count("logs_retention_seconds", _first(cfg.logs_retention_seconds, 3600)),
        logs_sampling_ratio=_ratio(_first(cfg.logs_sampling_ratio, 1.0)),
        logs_console_output=_first(cfg.logs_console_output, not block),
        level=cfg.level or "info",
        format=cfg.format or "default",
        otlp_protocol=protocol,
        store=cfg.store,
        store_path=store_path,
        max_spans=_count("max_spans", _first(cfg.max_spans, memory_max_spans)),
        max_bytes=_count("max_bytes", cfg.max_bytes),
        retention_seconds=_count("retention_seconds", cfg.retention_seconds),
        raw=cfg,
        alerts=list(cfg.alerts or []),
        sampling=sampling,
        trace_builtins=bool(_env_bool("III_OTEL_TRACE_BUILTINS")),
    )


def _validate(common: dict[str, Any]) -> None:
    common["sampling_ratio"] = _ratio(common["sampling_ratio"])
    for key in ("metrics_retention_seconds", "metrics_max_count", "logs_batch_size", "logs_flush_interval_ms"):
        common[key] = _count(key, common[key])
    if common["exporter"] not in ("memory", "otlp", "both"):
        raise ValueError(f"iii-observability: exporter must be memory|otlp|both (got {common['exporter']!r})")
