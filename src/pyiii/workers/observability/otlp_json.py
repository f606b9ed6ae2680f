"""Decode the OTLP/JSON the SDKs send on ``/otel`` (after the 4-byte prefix) into stored records.

The official SDKs write ids as lowercase hex (the OTLP/JSON rule); protobuf's generic JSON
mapping writes base64, so both are accepted. Times may be strings or numbers, ``intValue``
may be a string. A frame that is not an OTLP object raises :class:`OtlpDecodeError`; single
records with unusable ids are skipped and counted.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

_HEX = re.compile(r"^[0-9a-f]+$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_CODES = {0: "unset", 1: "ok", 2: "error"}


class OtlpDecodeError(ValueError):
    pass


@dataclass(slots=True)
class Decoded:
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` object -> a plain Python value."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return attributes_dict((value["kvlistValue"] or {}).get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes_dict(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = any_value(item.get("value"))
    return out


def as_text(value: Any) -> str:
    """Span attribute values are stored as strings (spec §11.2: ``[[k, v]]`` string pairs)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value, default=str).decode()


def hex_id(value: Any, size: int) -> str | None:
    """``size`` bytes as lowercase hex from hex or base64 text; None if absent or all zero."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if len(text) == size * 2 and _HEX.match(text.lower()):
        out = text.lower()
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != size:
            return None
        out = raw.hex()
    return None if out == "0" * (size * 2) else out


def nanos(value: Any) -> int:
    if type(value) is str and value.isdigit():  # the usual shape: a decimal string
        return int(value)
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def parse(payload: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise OtlpDecodeError("not an OTLP export request (expected a JSON object)")
    return doc


def _list(doc: dict[str, Any], key: str, alt: str) -> list[Any]:
    value = doc.get(key, doc.get(alt))
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpDecodeError(f"`{key}` must be a list")
    return value


def _scope(block: dict[str, Any]) -> tuple[str | None, str | None]:
    scope = block.get("scope") or block.get("instrumentationLibrary") or {}
    if not isinstance(scope, dict):
        return None, None
    return scope.get("name") or None, scope.get("version") or None


def _resource(block: Any) -> dict[str, Any]:
    resource = block.get("resource") if isinstance(block, dict) else None
    return attributes_dict(resource.get("attributes")) if isinstance(resource, dict) else {}


def _scopes(
    doc: dict[str, Any], out: Decoded, resource_keys: tuple[str, str], scope_keys: tuple[str, ...],
    default_service: str,
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """The envelope every OTLP signal shares: resource blocks holding scope blocks. Yields
    ``(resource attributes, service name, scope block)``; a block that is not an object is
    counted in ``out.skipped``. ``scope_keys``: the block's name, then its pre-1.0 names."""
    for block in _list(doc, *resource_keys):
        if not isinstance(block, dict):
            out.skipped += 1
            continue
        resource = _resource(block)
        service = str(resource.get("service.name") or default_service)
        for scope in _first_present(block, scope_keys):
            if not isinstance(scope, dict):
                out.skipped += 1
                continue
            yield resource, service, scope


def _first_present(block: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = block.get(key)
        if value:
            return value
    return []


_SPAN_BLOCKS = ("resourceSpans", "resource_spans"), ("scopeSpans", "instrumentationLibrarySpans")
_LOG_BLOCKS = ("resourceLogs", "resource_logs"), ("scopeLogs", "instrumentationLibraryLogs")
_METRIC_BLOCKS = ("resourceMetrics", "resource_metrics"), ("scopeMetrics",)


def decode_traces(payload: bytes, default_service: str = "unknown") -> Decoded:
    return decode_trace_doc(parse(payload), default_service)


def scan_traces(payload: bytes) -> tuple[dict[str, Any], int, set[str]]:
    """Parse a traces frame and check its outline only: ``(document, span count, span names)``.
    Malformed frames raise here as in :func:`decode_traces`; per-span work waits for
    :func:`decode_trace_doc`. Raises TypeError for span names that are not text."""
    doc = parse(payload)
    count = 0
    names: set[str] = set()
    for _, _, ss in _scopes(doc, Decoded(), *_SPAN_BLOCKS, ""):
        spans = ss.get("spans")
        if isinstance(spans, list) and spans:
            count += len(spans)
            names.update([span.get("name") or "" for span in spans if isinstance(span, dict)])
    return doc, count, names


def decode_trace_doc(doc: dict[str, Any], default_service: str = "unknown") -> Decoded:
    out = Decoded()
    for _, service, ss in _scopes(doc, out, *_SPAN_BLOCKS, default_service):
        scope_name, scope_version = _scope(ss)
        for span in ss.get("spans") or []:
            record = _span(span, service, scope_name, scope_version)
            if record is None:
                out.skipped += 1
            else:
                out.records.append(record)
    return out


_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def _trace_id(value: Any) -> str | None:
    # Lowercase hex (what every SDK writes) without the general path's strip/lower/base64 work.
    if type(value) is str and _TRACE_ID.fullmatch(value) is not None:
        return value if value != _ZERO_TRACE else None
    return hex_id(value, 16)


def _span_id(value: Any) -> str | None:
    if type(value) is str and _SPAN_ID.fullmatch(value) is not None:
        return value if value != _ZERO_SPAN else None
    return hex_id(value, 8)


def _pairs(items: Any) -> list[list[str]]:
    return [[k, as_text(v)] for k, v in attributes_dict(items).items()] if items else []


def _span(span: Any, service: str, scope_name: str | None, scope_version: str | None) -> dict[str, Any] | None:
    # The hot path of every SDK span the engine stores: absent fields (OTLP/JSON defaults) cost nothing.
    if not isinstance(span, dict):
        return None
    get = span.get
    trace_id = _trace_id(get("traceId"))
    span_id = _span_id(get("spanId"))
    if trace_id is None or span_id is None:
        return None
    parent = get("parentSpanId")
    raw_status = get("status")
    if isinstance(raw_status, dict):
        code = raw_status.get("code", 0)
        if isinstance(code, str):  # enum names in protobuf JSON: STATUS_CODE_ERROR
            code = {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
        status = STATUS_CODES.get(code if isinstance(code, int) else 0, "unset")
        message = raw_status.get("message")
    else:
        status, message = "unset", None
    kind = get("kind")
    events = get("events")
    links = get("links")
    record: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": _span_id(parent) if parent else None,
        "name": str(get("name") or ""),
        "kind": SPAN_KINDS.get(kind if isinstance(kind, int) else 0, "unspecified"),
        "start_time_unix_nano": nanos(get("startTimeUnixNano")),
        "end_time_unix_nano": nanos(get("endTimeUnixNano")),
        "status": status,
        "attributes": _pairs(get("attributes")),
        "service_name": service,
        "events": [
            {"name": str(e.get("name") or ""), "timestamp_unix_nano": nanos(e.get("timeUnixNano")),
             "attributes": _pairs(e.get("attributes"))}
            for e in events if isinstance(e, dict)
        ] if events else [],
        "links": [
            {"trace_id": hex_id(lk.get("traceId"), 16), "span_id": hex_id(lk.get("spanId"), 8),
             "trace_state": lk.get("traceState") or "",
             "attributes": _pairs(lk.get("attributes"))}
            for lk in links if isinstance(lk, dict)
        ] if links else [],
    }
    if message:
        record["status_description"] = str(message)
    if scope_name:
        record["instrumentation_scope_name"] = scope_name
    if scope_version:
        record["instrumentation_scope_version"] = scope_version
    trace_state = get("traceState")
    if trace_state:
        record["trace_state"] = str(trace_state)
    flags = get("flags")
    if isinstance(flags, int):
        record["flags"] = flags
    return record


SEVERITY_TEXT = {1: "TRACE", 5: "DEBUG", 9: "INFO", 13: "WARN", 17: "ERROR", 21: "FATAL"}


def severity_text(number: int) -> str:
    base = max((n for n in SEVERITY_TEXT if n <= number), default=1)
    return SEVERITY_TEXT[base]


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def decode_logs(payload: bytes, default_service: str = "unknown") -> Decoded:
    doc = parse(payload)
    out = Decoded()
    for resource, service, sl in _scopes(doc, out, *_LOG_BLOCKS, default_service):
        scope_name, scope_version = _scope(sl)
        for lr in sl.get("logRecords") or []:
            if not isinstance(lr, dict):
                out.skipped += 1
                continue
            number = lr.get("severityNumber", 0)
            if isinstance(number, str):
                number = 0
            body = any_value(lr.get("body"))
            record: dict[str, Any] = {
                "timestamp_unix_nano": nanos(lr.get("timeUnixNano")) or nanos(lr.get("observedTimeUnixNano")),
                "observed_timestamp_unix_nano": nanos(lr.get("observedTimeUnixNano")),
                "severity_number": int(number or 0),
                "severity_text": str(lr.get("severityText") or (severity_text(number) if number else "")),
                "body": strip_ansi(body if isinstance(body, str) else as_text(body) if body is not None else ""),
                "attributes": attributes_dict(lr.get("attributes")),
                "trace_id": hex_id(lr.get("traceId"), 16),
                "span_id": hex_id(lr.get("spanId"), 8),
                "resource": resource,
                "service_name": service,
            }
            if scope_name:
                record["instrumentation_scope_name"] = scope_name
            if scope_version:
                record["instrumentation_scope_version"] = scope_version
            out.records.append(record)
    return out


def decode_metrics(payload: bytes, default_service: str = "unknown") -> Decoded:
    """One record per data point: ``{name, type, unit, attributes, value | count/sum/..., ...}``."""
    doc = parse(payload)
    out = Decoded()
    for _, service, sm in _scopes(doc, out, *_METRIC_BLOCKS, default_service):
        for metric in sm.get("metrics") or []:
            if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
                out.skipped += 1
                continue
            for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                data = metric.get(kind)
                if isinstance(data, dict):
                    for point in data.get("dataPoints") or []:
                        if isinstance(point, dict):
                            out.records.append(_point(metric, kind, point, service))
                    break
    return out


def _point(metric: dict[str, Any], kind: str, point: dict[str, Any], service: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": metric["name"],
        "description": metric.get("description") or "",
        "unit": metric.get("unit") or "",
        "type": kind,
        "attributes": attributes_dict(point.get("attributes")),
        "timestamp_unix_nano": nanos(point.get("timeUnixNano")),
        "service_name": service,
    }
    if "asDouble" in point:
        record["value"] = float(point["asDouble"])
    elif "asInt" in point:
        record["value"] = nanos(point["asInt"])
    if kind in ("histogram", "exponentialHistogram", "summary"):
        record["count"] = nanos(point.get("count"))
        record["sum"] = point.get("sum", 0)
        for key in ("min", "max"):
            if key in point:
                record[key] = point[key]
    return record
