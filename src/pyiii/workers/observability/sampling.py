"""Which traces are kept (spec §11.1 ``sampling_ratio`` / ``sampling``).

Decisions hash the trace id the way OpenTelemetry's ``TraceIdRatioBased`` does (lower 64 bits
against ``rate * 2^64``), so the engine, the SDKs and a collector agree on a trace as a whole.
Engine spans follow the parent's sampled flag when ``parent_based`` (default); new root spans
use the first matching rule (``operation``/``service`` are fnmatch patterns) or the default
ratio, then the optional per-second rate limit. Spans the SDKs send are kept or dropped by
trace id with the default ratio, so one trace is never half stored.
"""

from __future__ import annotations

import time
from fnmatch import fnmatchcase

from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from pyiii.workers.observability.config import SamplingConfig

_LOW64 = (1 << 64) - 1


def keeps(trace_id: str, rate: float) -> bool:
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return int(trace_id[16:], 16) & _LOW64 < TraceIdRatioBased.get_bound_for_rate(rate)


class Sampler:
    def __init__(self, ratio: float, config: SamplingConfig, service_name: str) -> None:
        self.default_ratio = config.default if config.default is not None else ratio
        self.default_ratio = min(1.0, max(0.0, self.default_ratio))
        self.rules = config.rules
        self.parent_based = config.parent_based if config.parent_based is not None else True
        self.service_name = service_name
        limit = config.rate_limit.max_traces_per_second if config.rate_limit else None
        self.max_per_second = limit
        self._tokens = limit or 0.0
        self._refilled = time.monotonic()

    def rate_for(self, name: str, service: str) -> float:
        for rule in self.rules:
            if rule.operation is not None and not fnmatchcase(name, rule.operation):
                continue
            if rule.service is not None and not fnmatchcase(service, rule.service):
                continue
            return min(1.0, max(0.0, rule.rate))
        return self.default_ratio

    def __call__(self, name: str, trace_id: str, parent_sampled: bool | None) -> bool:
        """The :class:`pyiii.core.spans.Sampler` the engine tracer calls."""
        if parent_sampled is not None and self.parent_based:
            return parent_sampled
        if not keeps(trace_id, self.rate_for(name, self.service_name)):
            return False
        return parent_sampled is not None or self._take_token()

    def keeps_ingested(self, trace_id: str) -> bool:
        return keeps(trace_id, self.default_ratio)

    def _take_token(self) -> bool:
        if self.max_per_second is None:
            return True
        now = time.monotonic()
        self._tokens = min(self.max_per_second, self._tokens + (now - self._refilled) * self.max_per_second)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def describe(self) -> dict[str, object]:
        return {
            "default_ratio": self.default_ratio,
            "rules": [{"operation": r.operation, "service": r.service, "rate": r.rate} for r in self.rules],
            "parent_based": self.parent_based,
        }
