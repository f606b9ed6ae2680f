"""Pure filtering, sorting and shaping behind ``engine::traces::*`` and ``engine::logs::list``
(spec/workers.md §11.3). Stores return candidate records; everything else happens here."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import msgspec

from pyiii.workers.observability.adapters.base import TimeRange

MS = 1_000_000


class TraceListArgs(msgspec.Struct):
    trace_id: str | None = None
    trace_ids: list[str] | None = None
    offset: int = 0
    limit: int = 100
    service_name: str | None = None
    name: str | None = None
    status: str | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    start_time: int | None = None
    end_time: int | None = None
    sort_by: str = "start_time"
    sort_order: str = "asc"
    attributes: list[list[str]] | None = None
    exclude_attributes: list[list[str]] | None = None
    include_internal: bool = False
    search_all_spans: bool = False
    #: pyiii: spans of one function (``function_id`` / ``faas.invoked_name`` / ``execute <fn>``).
    function_id: str | None = None
    #: pyiii: case-insensitive text searched in the name, service and attribute values.
    search: str | None = None


class TraceTreeArgs(msgspec.Struct):
    trace_id: str


class GroupByArgs(msgspec.Struct):
    attribute: str
    since_ms: int | None = None
    limit: int = 100
    include_internal: bool = False
    label_attribute: str | None = None


class LogListArgs(msgspec.Struct):
    start_time: int | None = None
    end_time: int | None = None
    trace_id: str | None = None
    span_id: str | None = None
    severity_min: int | None = None
    severity_text: str | None = None
    offset: int = 0
    limit: int = 1000
    #: pyiii: case-insensitive text searched in the body and attribute values.
    search: str | None = None
    service_name: str | None = None


def window(start_ms: int | None, end_ms: int | None) -> TimeRange | None:
    if start_ms is None and end_ms is None:
        return None
    return TimeRange(start_ms * MS if start_ms is not None else None, end_ms * MS if end_ms is not None else None)


def attr(span: dict[str, Any], key: str) -> str | None:
    for k, v in span.get("attributes") or ():
        if k == key:
            return str(v)
    return None


def is_internal(span: dict[str, Any]) -> bool:
    if attr(span, "iii.function.kind") == "internal":
        return True
    fid = attr(span, "function_id")
    return fid is not None and fid.startswith("engine::")


def duration_ms(span: dict[str, Any]) -> float:
    end: int = span.get("end_time_unix_nano") or 0
    if not end:
        return 0.0
    start: int = span["start_time_unix_nano"]
    return max(0, end - start) / MS


def function_of(span: dict[str, Any]) -> str | None:
    for key in ("function_id", "faas.invoked_name", "iii.function.id"):
        value = attr(span, key)
        if value:
            return value
    name = span.get("name") or ""
    for prefix in ("execute ", "call ", "trigger "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return None


def by_trace(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        grouped[span["trace_id"]].append(span)
    return grouped


def roots_of(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans whose parent is absent or not stored (a partial trace still shows)."""
    ids = {s["span_id"] for s in spans}
    return [s for s in spans if not s.get("parent_span_id") or s["parent_span_id"] not in ids]


def trace_tags(spans: list[dict[str, Any]]) -> dict[str, Any]:
    starts: list[int] = [s["start_time_unix_nano"] for s in spans]
    ends: list[int] = [s.get("end_time_unix_nano") or 0 for s in spans]
    last_end = max(ends, default=0)
    return {
        "span_count": len(spans),
        "error_count": sum(1 for s in spans if s.get("status") == "error"),
        "services": sorted({s.get("service_name") or "" for s in spans}),
        "duration_ms": (last_end - min(starts)) / MS if last_end else 0.0,
    }


def trace_status(spans: list[dict[str, Any]], root: dict[str, Any]) -> str:
    """A trace's status: ``error`` when any of its spans failed (a handler deep in the trace
    fails while the HTTP root span is ok), else its root span's."""
    if any(s.get("status") == "error" for s in spans):
        return "error"
    return str(root.get("status") or "unset")


def _matches(span: dict[str, Any], a: TraceListArgs, status: str | None = None) -> bool:
    if a.service_name and a.service_name.lower() not in (span.get("service_name") or "").lower():
        return False
    if a.name and a.name.lower() not in (span.get("name") or "").lower():
        return False
    if a.status and a.status.lower() not in (status or span.get("status") or "").lower():
        return False
    if a.min_duration_ms is not None or a.max_duration_ms is not None:
        d = duration_ms(span)
        if a.min_duration_ms is not None and d < a.min_duration_ms:
            return False
        if a.max_duration_ms is not None and d > a.max_duration_ms:
            return False
    if a.attributes:
        pairs = {(k, str(v)) for k, v in span.get("attributes") or ()}
        if not all(len(p) == 2 and (p[0], p[1]) in pairs for p in a.attributes):
            return False
    if a.exclude_attributes:
        pairs = {(k, str(v)) for k, v in span.get("attributes") or ()}
        if any(len(p) == 2 and (p[0], p[1]) in pairs for p in a.exclude_attributes):
            return False
    if a.function_id and function_of(span) != a.function_id:
        return False
    if a.search:
        needle = a.search.lower()
        haystack = [span.get("name") or "", span.get("service_name") or ""]
        haystack += [str(v) for _, v in span.get("attributes") or ()]
        if not any(needle in h.lower() for h in haystack):
            return False
    return a.include_internal or not is_internal(span)


_SORT_KEYS: dict[str, Any] = {
    "start_time": lambda s: s["start_time_unix_nano"],
    "duration": duration_ms,
    "duration_ms": duration_ms,
    "service_name": lambda s: s.get("service_name") or "",
    "name": lambda s: s.get("name") or "",
}


def list_traces(spans: list[dict[str, Any]], a: TraceListArgs) -> dict[str, Any]:
    traces = by_trace(spans)
    candidates = spans if a.search_all_spans else [r for t in traces.values() for r in roots_of(t)]
    if a.search_all_spans:
        selected = [s for s in candidates if _matches(s, a)]
    else:  # a trace's status is that of all its spans, not of its root only
        selected = [s for s in candidates if _matches(s, a, trace_status(traces[s["trace_id"]], s))]
    key = _SORT_KEYS.get(a.sort_by, _SORT_KEYS["start_time"])
    selected.sort(key=key, reverse=a.sort_order.lower() == "desc")
    offset, limit = max(0, a.offset), max(0, a.limit)
    page = [{**s, "tags": trace_tags(traces[s["trace_id"]])} for s in selected[offset:offset + limit]]
    return {"spans": page, "total": len(selected), "offset": offset, "limit": limit}


def tree(spans: list[dict[str, Any]]) -> dict[str, Any]:
    nodes = {s["span_id"]: {**s, "children": []} for s in sorted(spans, key=lambda s: s["start_time_unix_nano"])}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node.get("parent_span_id") or "")
        (parent["children"] if parent is not None else roots).append(node)
    return {"roots": roots}


def group_by(spans: list[dict[str, Any]], a: GroupByArgs) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    for span in spans:
        if not a.include_internal and is_internal(span):
            continue
        value = attr(span, a.attribute)
        if value is None:
            continue
        group = groups.get(value)
        start_ms = span["start_time_unix_nano"] // MS
        if group is None:
            group = groups[value] = {
                "value": value, "label": value, "trace_ids": [], "span_count": 0,
                "first_seen_ms": start_ms, "last_seen_ms": start_ms, "duration_ms": 0.0, "error_count": 0,
            }
        if a.label_attribute:
            label = attr(span, a.label_attribute)
            if label is not None:
                group["label"] = label
        if span["trace_id"] not in group["trace_ids"]:
            group["trace_ids"].append(span["trace_id"])
        group["span_count"] += 1
        group["first_seen_ms"] = min(group["first_seen_ms"], start_ms)
        group["last_seen_ms"] = max(group["last_seen_ms"], start_ms)
        group["duration_ms"] += duration_ms(span)
        group["error_count"] += span.get("status") == "error"
    ordered = sorted(groups.values(), key=lambda g: g["last_seen_ms"], reverse=True)
    return {"groups": ordered[: max(0, a.limit)]}


def list_logs(logs: list[dict[str, Any]], a: LogListArgs) -> list[dict[str, Any]]:
    """Matching logs, newest first."""
    out = []
    text = a.severity_text.upper() if a.severity_text else None
    needle = a.search.lower() if a.search else None
    for record in reversed(logs):
        if a.trace_id and record.get("trace_id") != a.trace_id:
            continue
        if a.span_id and record.get("span_id") != a.span_id:
            continue
        if a.severity_min is not None and (record.get("severity_number") or 0) < a.severity_min:
            continue
        if text and (record.get("severity_text") or "").upper() != text:
            continue
        if a.service_name and record.get("service_name") != a.service_name:
            continue
        if needle and needle not in (record.get("body") or "").lower() and not any(
            needle in str(v).lower() for v in (record.get("attributes") or {}).values()
        ):
            continue
        out.append(record)
    return out
