"""In-memory ring buffers: the oldest record goes when a count, byte or age cap is passed.

Span batches may arrive *deferred* (:meth:`MemoryStore.add_deferred`): counted against the caps
at once, turned into records only when something reads the store. Under a busy trace load with
a small cap most batches are evicted before anyone looks, and those are never decoded.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from pyiii.workers.observability.adapters.base import Caps, TimeRange, now_ns, record_size

SpanKey = tuple[str, str]


class MemoryStore:
    def __init__(self, span_caps: Caps, log_caps: Caps) -> None:
        self.span_caps = span_caps
        self.log_caps = log_caps
        #: (trace_id, span_id) -> (stored_at_ns, size, span). Re-adding a key (a live
        #: snapshot replaced by the finished span) keeps one entry.
        self._spans: OrderedDict[SpanKey, tuple[int, int, dict[str, Any]]] = OrderedDict()
        self._by_trace: dict[str, set[str]] = {}
        self._span_bytes = 0
        #: Batches not decoded yet, oldest first: (arrived_ns, span count, estimated bytes, build).
        self._deferred: deque[tuple[int, int, int, Callable[[], list[dict[str, Any]]]]] = deque()
        self._deferred_count = 0
        self._deferred_bytes = 0
        self._logs: deque[tuple[int, int, dict[str, Any]]] = deque()
        self._log_bytes = 0
        self.evicted_spans = 0
        self.evicted_logs = 0

    # ------------------------------------------------------------------ writes

    def add_spans(self, spans: list[dict[str, Any]]) -> None:
        self._add_spans(spans, now_ns())

    def add_deferred(self, count: int, size: int, build: Callable[[], list[dict[str, Any]]]) -> None:
        """A batch of about ``count`` spans (``size`` bytes, estimated) that ``build`` turns into
        records when the store is next read, in arrival order, unless evicted before then."""
        stamp = now_ns()
        self._deferred.append((stamp, count, size, build))
        self._deferred_count += count
        self._deferred_bytes += size
        self._evict_spans(stamp)

    def settle(self) -> None:
        """Decode the deferred batches (reads do this first)."""
        deferred = self._deferred
        while deferred:
            stamp, count, size, build = deferred.popleft()
            self._deferred_count -= count
            self._deferred_bytes -= size
            records = build()
            if records:
                self._add_spans(records, stamp)  # the arrival time, for age-based retention

    @property
    def has_deferred(self) -> bool:
        return bool(self._deferred)

    def _add_spans(self, spans: list[dict[str, Any]], stamp: int) -> None:
        stored = self._spans
        by_trace = self._by_trace
        added = 0
        for span in spans:
            key = (span["trace_id"], span["span_id"])
            size = record_size(span)
            old = stored.pop(key, None)
            if old is not None:
                added -= old[1]
            stored[key] = (stamp, size, span)
            added += size
            members = by_trace.get(key[0])
            if members is None:
                by_trace[key[0]] = {key[1]}
            else:
                members.add(key[1])
        self._span_bytes += added
        self._evict_spans(stamp)

    def add_logs(self, logs: list[dict[str, Any]]) -> None:
        stamp = now_ns()
        for record in logs:
            size = record_size(record)
            self._logs.append((stamp, size, record))
            self._log_bytes += size
        self._evict_logs(stamp)

    def _evict_spans(self, now: int) -> None:
        caps = self.span_caps
        oldest_allowed = now - caps.max_age_seconds * 1_000_000_000
        spans = self._spans
        by_trace = self._by_trace
        max_count, max_bytes = caps.max_count, caps.max_bytes
        while spans:
            # Within count and bytes only age can evict: peek at the oldest (the costly part).
            if (len(spans) + self._deferred_count <= max_count
                    and self._span_bytes + self._deferred_bytes <= max_bytes):
                _, (stamp, _, _) = next(iter(spans.items()))
                if stamp >= oldest_allowed:
                    return
            key, (_, size, _) = spans.popitem(last=False)
            self._span_bytes -= size
            self.evicted_spans += 1
            members = by_trace.get(key[0])
            if members is not None:
                members.discard(key[1])
                if not members:
                    del by_trace[key[0]]
        # Only deferred batches left (newer than any stored span): drop whole batches while the
        # rest still fills the caps; the exact trim happens when they are decoded.
        deferred = self._deferred
        while deferred:
            stamp, count, size, _ = deferred[0]
            if (stamp >= oldest_allowed and self._deferred_count - count < max_count
                    and self._deferred_bytes - size < max_bytes):
                return
            deferred.popleft()
            self._deferred_count -= count
            self._deferred_bytes -= size
            self.evicted_spans += count

    def _evict_logs(self, now: int) -> None:
        caps = self.log_caps
        oldest_allowed = now - caps.max_age_seconds * 1_000_000_000
        logs = self._logs
        while logs:
            stamp, size, _ = logs[0]
            if len(logs) <= caps.max_count and self._log_bytes <= caps.max_bytes and stamp >= oldest_allowed:
                break
            logs.popleft()
            self._log_bytes -= size
            self.evicted_logs += 1

    def prune(self) -> None:
        """Age-based retention between writes (called periodically by the worker)."""
        now = now_ns()
        self._evict_spans(now)
        self._evict_logs(now)

    # ------------------------------------------------------------------ reads

    async def spans(self, trace_ids: set[str] | None = None, window: TimeRange | None = None) -> list[dict[str, Any]]:
        self.settle()
        if trace_ids is not None:
            found = []
            for trace_id in trace_ids:
                for span_id in self._by_trace.get(trace_id, ()):
                    entry = self._spans.get((trace_id, span_id))
                    if entry is not None:
                        found.append(entry[2])
            found.sort(key=lambda s: s["start_time_unix_nano"])
            candidates = found
        else:
            candidates = [entry[2] for entry in self._spans.values()]
        if window is None:
            return candidates
        return [s for s in candidates if _within(s["start_time_unix_nano"], window)]

    async def logs(self, window: TimeRange | None = None, trace_id: str | None = None) -> list[dict[str, Any]]:
        out = [entry[2] for entry in self._logs]
        if trace_id is not None:
            out = [r for r in out if r.get("trace_id") == trace_id]
        if window is not None:
            out = [r for r in out if _within(r["timestamp_unix_nano"], window)]
        return out

    async def clear_spans(self) -> None:
        self._deferred.clear()
        self._deferred_count = self._deferred_bytes = 0
        self._spans.clear()
        self._by_trace.clear()
        self._span_bytes = 0

    async def clear_logs(self) -> None:
        self._logs.clear()
        self._log_bytes = 0

    def stats(self) -> dict[str, Any]:
        return {
            "store": "memory",
            # Deferred batches are evicted whole, so their estimate may pass the cap by < 1 batch.
            "spans": min(len(self._spans) + self._deferred_count, self.span_caps.max_count),
            "span_bytes": self._span_bytes + self._deferred_bytes,
            "logs": len(self._logs),
            "log_bytes": self._log_bytes,
            "evicted_spans": self.evicted_spans,
            "evicted_logs": self.evicted_logs,
        }

    async def close(self) -> None:
        return None


def _within(ts: int, window: TimeRange) -> bool:
    if window.since_ns is not None and ts < window.since_ns:
        return False
    return not (window.until_ns is not None and ts > window.until_ns)
