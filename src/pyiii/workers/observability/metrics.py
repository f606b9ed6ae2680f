"""Engine metrics (invocations, durations, errors per function; workers), SDK metric points from
``MTRC`` frames, and the per-worker gauges ``engine::workers::info`` reports (spec §9.2).

Every structure is bounded: a fixed duration reservoir, at most ``max_tracked_functions``
counters, a capped deque of SDK points, fixed-size rollup rings.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OTHER_FUNCTIONS = "_other"

#: OTel gauge name -> field of ``engine::workers::info`` latest_metrics.
WORKER_GAUGES = {
    "iii.worker.memory.heap_used": "memory_heap_used",
    "iii.worker.memory.heap_total": "memory_heap_total",
    "iii.worker.memory.rss": "memory_rss",
    "iii.worker.memory.external": "memory_external",
    "iii.worker.memory.vms": "memory_vms",
    "iii.worker.cpu.percent": "cpu_percent",
    "iii.worker.cpu.user_micros": "cpu_user_micros",
    "iii.worker.cpu.system_micros": "cpu_system_micros",
    "iii.worker.event_loop.lag_ms": "event_loop_lag_ms",
    "iii.worker.uptime_seconds": "uptime_seconds",
}
#: How long worker gauges stay reported after the last sample (spec: 2-minute look-back).
WORKER_GAUGE_TTL_MS = 120_000
#: Rollup levels: bucket width in seconds, buckets kept.
ROLLUP_LEVELS = ((60, 180), (300, 288), (3600, 168))
#: Latest durations kept per function for its p50/p99 (pyiii; the reference has totals only).
FUNCTION_SAMPLES = 512


def _percentile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3) if ordered else 0.0


@dataclass(slots=True)
class FunctionCounters:
    total: int = 0
    success: int = 0
    error: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=FUNCTION_SAMPLES))

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.recent)
        return {
            "total": self.total,
            "success": self.success,
            "error": self.error,
            "avg_duration_ms": round(self.total_seconds / self.total * 1000, 3) if self.total else 0.0,
            "max_duration_ms": round(self.max_seconds * 1000, 3),
            "p50_duration_ms": _percentile(ordered, 0.50),
            "p99_duration_ms": _percentile(ordered, 0.99),
        }


@dataclass(slots=True)
class Bucket:
    start_s: int
    count: int = 0
    errors: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    #: Log2 millisecond histogram: index i counts durations in [2^(i-1), 2^i) ms.
    histogram: list[int] = field(default_factory=lambda: [0] * 24)


class EngineMetrics:
    def __init__(self, duration_samples: int, max_tracked_functions: int, sdk_max: int, sdk_retention_s: int) -> None:
        self.by_function: dict[str, FunctionCounters] = {}
        self.totals = FunctionCounters()
        self.deferred = 0
        self.spawns = 0
        self.deaths = 0
        self.durations: deque[float] = deque(maxlen=duration_samples)
        self.max_tracked_functions = max_tracked_functions
        self.sdk_points: deque[dict[str, Any]] = deque(maxlen=sdk_max)
        self.sdk_retention_ns = sdk_retention_s * 1_000_000_000
        self.rollups: list[deque[Bucket]] = [deque(maxlen=keep) for _, keep in ROLLUP_LEVELS]

    # ------------------------------------------------------------------ inputs

    def observe(self, function_id: str, seconds: float, error_code: str | None) -> None:
        """An Invoker observer: called after every finished call."""
        counters = self.by_function.get(function_id)
        if counters is None:
            if len(self.by_function) >= self.max_tracked_functions:
                function_id = OTHER_FUNCTIONS
            counters = self.by_function.setdefault(function_id, FunctionCounters())
        counters.recent.append(seconds)
        for c in (counters, self.totals):
            c.total += 1
            if error_code is None:
                c.success += 1
            else:
                c.error += 1
            c.total_seconds += seconds
            if seconds > c.max_seconds:
                c.max_seconds = seconds
        self.durations.append(seconds)
        now_s = int(time.time())
        millis = seconds * 1000
        slot = min(23, max(0, int(millis).bit_length()))
        for (width, _), ring in zip(ROLLUP_LEVELS, self.rollups, strict=True):
            start = now_s - now_s % width
            if not ring or ring[-1].start_s != start:
                ring.append(Bucket(start))
            bucket = ring[-1]
            bucket.count += 1
            bucket.errors += error_code is not None
            bucket.total_seconds += seconds
            bucket.max_seconds = max(bucket.max_seconds, seconds)
            bucket.histogram[slot] += 1

    def observe_local(self, function_id: str, count: int, errors: int, seconds_sum: float) -> None:
        """A local-stats observer: ``count`` calls a worker ran in-process (local dispatch) and
        reported in one window. They add to the totals and the rollups like routed calls; only
        their mean duration is known, so it stands for each of them in the histogram and the
        duration samples are left to routed calls."""
        if count <= 0:
            return
        counters = self.by_function.get(function_id)
        if counters is None:
            if len(self.by_function) >= self.max_tracked_functions:
                function_id = OTHER_FUNCTIONS
            counters = self.by_function.setdefault(function_id, FunctionCounters())
        mean = seconds_sum / count
        for c in (counters, self.totals):
            c.total += count
            c.success += count - errors
            c.error += errors
            c.total_seconds += seconds_sum
            c.max_seconds = max(c.max_seconds, mean)
        now_s = int(time.time())
        slot = min(23, max(0, int(mean * 1000).bit_length()))
        for (width, _), ring in zip(ROLLUP_LEVELS, self.rollups, strict=True):
            start = now_s - now_s % width
            if not ring or ring[-1].start_s != start:
                ring.append(Bucket(start))
            bucket = ring[-1]
            bucket.count += count
            bucket.errors += errors
            bucket.total_seconds += seconds_sum
            bucket.max_seconds = max(bucket.max_seconds, mean)
            bucket.histogram[slot] += count

    def worker_event(self, event: str) -> None:
        if event == "worker_connected":
            self.spawns += 1
        elif event == "worker_disconnected":
            self.deaths += 1

    def add_sdk_points(self, points: list[dict[str, Any]]) -> None:
        self.sdk_points.extend(points)

    # ------------------------------------------------------------------ outputs

    def performance(self) -> dict[str, float]:
        samples = sorted(self.durations)
        if not samples:
            return {k: 0.0 for k in ("avg_duration_ms", "p50_duration_ms", "p95_duration_ms", "p99_duration_ms",
                                     "min_duration_ms", "max_duration_ms")}

        def pct(q: float) -> float:
            return round(samples[min(len(samples) - 1, int(q * len(samples)))] * 1000, 3)

        return {
            "avg_duration_ms": round(sum(samples) / len(samples) * 1000, 3),
            "p50_duration_ms": pct(0.50),
            "p95_duration_ms": pct(0.95),
            "p99_duration_ms": pct(0.99),
            "min_duration_ms": round(samples[0] * 1000, 3),
            "max_duration_ms": round(samples[-1] * 1000, 3),
        }

    def invocations(self) -> dict[str, Any]:
        return {
            "total": self.totals.total,
            "success": self.totals.success,
            "error": self.totals.error,
            "deferred": self.deferred,
            "by_function": {fid: c.as_dict() for fid, c in sorted(self.by_function.items())},
        }

    def sdk_metrics(self, since_ns: int | None, until_ns: int | None, name: str | None) -> list[dict[str, Any]]:
        oldest = time.time_ns() - self.sdk_retention_ns
        lower = max(oldest, since_ns or 0)
        return [
            p for p in self.sdk_points
            if (p["timestamp_unix_nano"] or oldest) >= lower
            and (until_ns is None or p["timestamp_unix_nano"] <= until_ns)
            and (name is None or p["name"] == name)
        ]

    def rollup_rows(self, level: int, since_s: int | None, until_s: int | None) -> list[dict[str, Any]]:
        width = ROLLUP_LEVELS[level][0]
        rows = []
        for b in self.rollups[level]:
            if (since_s is not None and b.start_s + width < since_s) or (until_s is not None and b.start_s > until_s):
                continue
            rows.append({
                "start_time": b.start_s * 1000,
                "end_time": (b.start_s + width) * 1000,
                "interval_seconds": width,
                "metric_name": "iii.invocations",
                "count": b.count,
                "error_count": b.errors,
                "avg_duration_ms": round(b.total_seconds / b.count * 1000, 3) if b.count else 0.0,
                "max_duration_ms": round(b.max_seconds * 1000, 3),
                "histogram_log2_ms": list(b.histogram),
            })
        return rows


def apply_worker_gauges(points: list[dict[str, Any]], gauges: dict[str, dict[str, Any]],
                        runtimes: Mapping[str, str | None]) -> None:
    """Fold ``iii.worker.*`` points into ``gauges[worker_id]`` (the observability worker's ``worker_metrics``)."""
    for point in points:
        field_name = WORKER_GAUGES.get(point["name"])
        worker_id = point["attributes"].get("worker.id")
        if field_name is None or not isinstance(worker_id, str) or "value" not in point:
            continue
        entry = gauges.setdefault(worker_id, {})
        entry[field_name] = point["value"]
        stamp = point["timestamp_unix_nano"] // 1_000_000 if point["timestamp_unix_nano"] else int(time.time() * 1000)
        entry["timestamp_ms"] = max(entry.get("timestamp_ms", 0), stamp)
        runtime = runtimes.get(worker_id)
        if runtime:
            entry["runtime"] = runtime
        elif "runtime" not in entry:
            entry["runtime"] = point.get("runtime") or "unknown"


def expire_worker_gauges(gauges: dict[str, dict[str, Any]], live_ids: set[str]) -> None:
    cutoff = int(time.time() * 1000) - WORKER_GAUGE_TTL_MS
    for worker_id in [w for w, g in gauges.items() if w not in live_ids or g.get("timestamp_ms", 0) < cutoff]:
        del gauges[worker_id]
