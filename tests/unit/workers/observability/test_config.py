"""Config resolution: no block vs a block with keys missing (spec §11.1)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from pyiii.workers.observability.config import ObservabilityConfig, resolve


def settings(block: dict[str, object], monkeypatch: pytest.MonkeyPatch, **env: str):  # type: ignore[no-untyped-def]
    for key in ("OTEL_ENABLED", "OTEL_EXPORTER_TYPE", "OTEL_MEMORY_MAX_SPANS", "OTEL_METRICS_ENABLED",
                "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return resolve(msgspec.convert(block, ObservabilityConfig), Path("/p"), Path("/p/data"), "9.9.9")


def test_no_block_uses_builtin_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings({}, monkeypatch, OTEL_ENABLED="false")
    assert (s.enabled, s.exporter, s.max_spans, s.metrics_enabled, s.logs_console_output) == (
        True, "memory", 1_000_000, True, True)
    assert s.service_version == "9.9.9" and s.store == "memory"
    assert s.store_path == Path("/p/data/observability.db")


def test_block_falls_back_to_env_then_runtime_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings({"service_name": "shop"}, monkeypatch)
    assert (s.enabled, s.exporter, s.max_spans, s.metrics_enabled, s.live_spans) == (False, "otlp", 1000, False,
                                                                                      False)
    assert s.endpoint == "http://localhost:4317" and s.otlp_protocol == "grpc"
    s = settings({"service_name": "shop"}, monkeypatch, OTEL_ENABLED="true", OTEL_EXPORTER_TYPE="memory",
                 OTEL_MEMORY_MAX_SPANS="77", OTEL_TRACES_SAMPLER_ARG="3", OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    assert (s.enabled, s.exporter, s.max_spans, s.sampling_ratio, s.live_spans) == (True, "memory", 77, 1.0, True)
    assert s.otlp_protocol == "http/protobuf"


def test_pyiii_store_keys_do_not_switch_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings({"store": "sqlite", "store_path": "x/t.db", "max_spans": 5}, monkeypatch)
    assert s.enabled and s.exporter == "memory" and s.max_spans == 5 and s.store_path == Path("/p/x/t.db")


def test_counts_must_be_positive_and_unknown_keys_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="logs_max_count"):
        settings({"logs_max_count": 0}, monkeypatch)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"nope": 1}, ObservabilityConfig)
