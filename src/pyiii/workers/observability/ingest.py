"""Turning what arrives (engine spans, SDK frames, ``engine::log::*`` calls) into stored records."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pyiii.core import FunctionEntry, Host, Span
from pyiii.workers.observability.otlp_json import SPAN_KINDS, as_text, strip_ansi

#: ``engine::log::<level>`` -> (severity number, text) (spec §11.3).
LOG_LEVELS = {"info": (9, "INFO"), "warn": (13, "WARN"), "error": (17, "ERROR"), "debug": (5, "DEBUG"),
              "trace": (1, "TRACE")}


def span_record(span: Span, service_name: str) -> dict[str, Any]:
    """An engine :class:`Span` in the stored shape (spec §11.2)."""
    record: dict[str, Any] = {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": SPAN_KINDS.get(int(span.kind), "internal"),
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "status": span.status,
        "attributes": [[k, as_text(v)] for k, v in span.attributes.items()],
        "service_name": service_name,
        "events": [{"name": e.name, "timestamp_unix_nano": e.timestamp_unix_nano,
                    "attributes": [[k, as_text(v)] for k, v in e.attributes.items()]} for e in span.events],
        "links": [],
        "instrumentation_scope_name": "pyiii",
    }
    if span.status_description:
        record["status_description"] = span.status_description
    return record


_NOTHING: frozenset[str] = frozenset()


def invoked_function(span_name: str) -> str | None:
    """The function an invocation span (``execute <fn>`` from an SDK, ``call <fn>`` from the
    engine) ran, else None."""
    if span_name.startswith("execute "):
        return span_name[8:]
    if span_name.startswith("call "):
        return span_name[5:]
    return None


def enrich(host: Host, record: dict[str, Any], parent_trigger: str | None,
           entries: Mapping[str, FunctionEntry | None] | None = None) -> None:
    """Add the per-invocation fields (function, worker, trigger type) to an invocation span:
    an SDK ``execute <fn>`` span or an engine ``call <fn>`` span. ``entries``: span name ->
    registry entry as looked up when the span arrived (deferred decoding), else the registry."""
    name = record["name"]
    function_id = invoked_function(name)
    if function_id is None:
        return
    attrs = record["attributes"]
    present = {k for k, _ in attrs} if attrs else _NOTHING
    entry = entries[name] if entries is not None and name in entries else host.functions.get(function_id)
    extra: list[list[str]] = []
    if "iii.function.id" not in present:
        extra.append(["iii.function.id", function_id])
    if entry is not None and "iii.worker.name" not in present:
        if entry.owner is not None:
            extra.append(["iii.worker.name", entry.owner.display_name])
            extra.append(["iii.worker.id", entry.owner.worker_id])
        elif entry.worker_name:
            extra.append(["iii.worker.name", entry.worker_name])
    if "iii.trigger.type" not in present:
        trigger = parent_trigger or ("call" if record.get("parent_span_id") else "direct")
        extra.append(["iii.trigger.type", trigger])
    if extra:
        record["attributes"] = [*attrs, *extra]


def trigger_of(parent: dict[str, Any] | None) -> str | None:
    """The trigger type a trigger span recorded (``iii.trigger.type``, else ``faas.trigger``), if
    the parent is one. An invocation parent (``execute``/``call``) means a plain call."""
    if parent is None or parent["name"].startswith(("execute ", "call ")):
        return None
    found: str | None = None
    for key, value in parent.get("attributes") or ():
        if key == "iii.trigger.type":
            return str(value)
        if key == "faas.trigger" and found is None:
            found = str(value)
    return found


def log_record(level: str, data: Any, service_name: str) -> dict[str, Any]:
    """An ``engine::log::<level>`` payload as a StoredLog. Raises ValueError without ``message``."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        raise ValueError("message is required")
    number, text = LOG_LEVELS[level]
    now = time.time_ns()
    extra = data.get("data")
    attributes: dict[str, Any] = dict(extra) if isinstance(extra, dict) else ({"data": extra} if extra is not None
                                                                              else {})
    service = data.get("service_name") or service_name
    return {
        "timestamp_unix_nano": now,
        "observed_timestamp_unix_nano": now,
        "severity_number": number,
        "severity_text": text,
        "body": strip_ansi(data["message"]),
        "attributes": attributes,
        "trace_id": data.get("trace_id") or None,
        "span_id": data.get("span_id") or None,
        "resource": {"service.name": service},
        "service_name": service,
    }
