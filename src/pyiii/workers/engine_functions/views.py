"""JSON views of registry entries, in the exact shapes of spec/protocol.md §4."""

from __future__ import annotations

import json
from typing import Any

from pyiii.core import DEFAULT_NAMESPACE, Binding, FunctionEntry, Host, Peer, TriggerType
from pyiii.workers.catalog import provider_of


def first_segment(identifier: str) -> str:
    return identifier.split("::", 1)[0]


def function_worker_name(host: Host, entry: FunctionEntry) -> str:
    if entry.worker_name is not None:
        worker = host.in_process_workers.get(entry.worker_name)
        return worker.name if worker else entry.worker_name
    if entry.owner is not None and entry.owner.metadata.name:
        return entry.owner.metadata.name
    return first_segment(entry.id)


def type_worker_name(tt: TriggerType) -> str:
    if tt.owner is not None and tt.owner.metadata.name:
        return tt.owner.metadata.name
    if tt.worker_name:
        return tt.worker_name
    return provider_of(tt.id) or first_segment(tt.id)


def binding_worker_name(host: Host, binding: Binding) -> str:
    if binding.owner is not None and binding.owner.metadata.name:
        return binding.owner.metadata.name
    entry = host.functions.get(binding.function_id, binding.namespace)
    if entry is not None:
        return function_worker_name(host, entry)
    return first_segment(binding.function_id)


def config_summary(config: Any) -> str:
    text = json.dumps(config, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= 80 else text[:80] + "…"


def function_summary(host: Host, entry: FunctionEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "function_id": entry.id, "namespace": entry.namespace, "worker_name": function_worker_name(host, entry),
    }
    if entry.description is not None:
        out["description"] = entry.description
    if entry.metadata is not None:
        out["metadata"] = entry.metadata
    if entry.local_invocations:  # calls its worker ran in-process and reported (local dispatch)
        out["local_invocations"] = entry.local_invocations
        out["local_errors"] = entry.local_errors
    return out


def function_detail(host: Host, entry: FunctionEntry) -> dict[str, Any]:
    out = function_summary(host, entry)
    if entry.request_format is not None:
        out["request_schema"] = entry.request_format
    if entry.response_format is not None:
        out["response_schema"] = entry.response_format
    out["registered_triggers"] = [
        {"id": b.id, "trigger_type": b.trigger_type, "config": b.config}
        for b in sorted(host.bindings.values(), key=lambda b: b.id)
        if b.function_id == entry.id and b.namespace == entry.namespace
    ]
    return out


def type_summary(tt: TriggerType) -> dict[str, Any]:
    # Every trigger type is provided in default until providers are keyed by namespace.
    return {"id": tt.id, "namespace": DEFAULT_NAMESPACE, "worker_name": type_worker_name(tt),
            "description": tt.description}


def type_detail(host: Host, tt: TriggerType) -> dict[str, Any]:
    out = type_summary(tt)
    if tt.trigger_request_format is not None:
        out["configuration_schema"] = tt.trigger_request_format
    if tt.call_request_format is not None:
        out["request_schema"] = tt.call_request_format
    response = getattr(tt, "response_format", None)
    if response is not None:
        out["response_schema"] = response
    out["instance_count"] = sum(1 for b in host.bindings.values() if b.trigger_type == tt.id)
    return out


def binding_summary(host: Host, binding: Binding) -> dict[str, Any]:
    return {
        "id": binding.id,
        "trigger_type": binding.trigger_type,
        "function_id": binding.function_id,
        "worker_name": binding_worker_name(host, binding),
        "config": binding.config,
        "config_summary": config_summary(binding.config),
    }


def peer_summary(host: Host, peer: Peer) -> dict[str, Any]:
    m = peer.metadata
    return {
        "name": m.name or peer.worker_id,
        "namespace": peer.namespace,
        "description": m.description,
        "version": m.version,
        "id": peer.worker_id,
        "runtime": m.runtime,
        "os": m.os,
        "status": "connected",
        "function_count": len(peer.functions),
        "connected_at_ms": peer.connected_at_ms,
        "active_invocations": len(peer.inflight),
        "isolation": m.isolation,
        "ip_address": peer.ip_address,
        **_local_stats(peer),
    }


def _local_stats(peer: Peer) -> dict[str, Any]:
    """What a worker reported of the calls it ran in-process (``localinvocationstats``), once
    it reported any."""
    stats = peer.local_stats
    if not stats.reports:
        return {}
    return {
        "local_invocations": stats.invocations,
        "local_errors": stats.errors,
        "local_duration_ms_sum": round(stats.duration_ms_sum, 3),
        "dropped_reports": dict(stats.dropped_reports),
    }
