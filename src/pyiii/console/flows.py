"""The Flows diagram, built from registration metadata (spec/steps-and-console.md §b5).

Python steps register ``{filePath, flows, enqueues, virtualEnqueues, triggers, ...}`` like
Node steps do, so they show up. Unlike upstream, an edge joins a step that enqueues a topic to
every step subscribed to it even across flows (the far step is drawn as a ghost node), so steps
linked by topics never look disconnected (user complaint #2).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

_LANGUAGES = {".py": "python", ".ts": "typescript", ".js": "javascript", ".mjs": "javascript",
              ".go": "go", ".rb": "ruby", ".rs": "rust"}
_KEYS_ENQUEUE = ("enqueues", "emits")
_KEYS_VIRTUAL = ("virtualEnqueues", "virtual_enqueues", "virtualEmits", "virtual_emits")
_KEYS_VSUB = ("virtualSubscribes", "virtual_subscribes")


def _topics(value: Any) -> list[str]:
    """``["a", {"topic": "b", "label": ..}]`` -> ``["a", "b"]``."""
    out: list[str] = []
    for item in value or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("topic"), str):
            out.append(item["topic"])
    return out


def _collect(meta: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [t for k in keys for t in _topics(meta.get(k))]


def step_id(file_path: str) -> str:
    stem = str(PurePosixPath(file_path).with_suffix(""))
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def _trigger_from_binding(binding: dict[str, Any]) -> dict[str, Any]:
    """A registered trigger as a metadata trigger (``api_path`` -> ``/path`` etc.)."""
    cfg = binding.get("config") or {}
    kind = binding.get("trigger_type", "")
    out: dict[str, Any] = {"type": kind}
    if "api_path" in cfg:
        out["path"] = "/" + str(cfg["api_path"]).lstrip("/")
        out["method"] = cfg.get("http_method", "GET")
    for key in ("expression", "topic", "scope", "stream_name"):
        if key in cfg:
            out[key] = cfg[key]
    return out


def _node_type(triggers: list[dict[str, Any]]) -> str:
    kind = str(triggers[0].get("type", "")) if triggers else ""
    if kind in ("http", "api"):
        return "http"
    if kind in ("queue", "durable:subscriber", "event", "subscribe"):
        return "queue"
    if kind in ("cron", "state", "stream"):
        return kind
    return "noop"


def _subscribed_topics(triggers: list[dict[str, Any]]) -> list[str]:
    return [str(t["topic"]) for t in triggers if t.get("topic") and _node_type([t]) == "queue"]


def build(functions: list[dict[str, Any]], bindings: list[dict[str, Any]]) -> dict[str, Any]:
    """``{flows: [{id, nodes, edges}]}``; nodes carry type, label, triggers, topics, language."""
    by_function: dict[str, list[dict[str, Any]]] = {}
    for binding in bindings:
        by_function.setdefault(str(binding.get("function_id")), []).append(_trigger_from_binding(binding))
    steps: dict[str, dict[str, Any]] = {}
    for fn in functions:
        meta = fn.get("metadata")
        if not isinstance(meta, dict) or not meta.get("filePath"):
            continue
        sid = step_id(str(meta["filePath"]))
        triggers = list(meta.get("triggers") or []) or by_function.get(fn["function_id"], [])
        step = steps.get(sid)
        if step is None:
            step = steps[sid] = {
                "id": sid, "name": meta.get("name") or sid, "description": meta.get("description"),
                "filePath": meta["filePath"],
                "language": _LANGUAGES.get(PurePosixPath(meta["filePath"]).suffix, "other"),
                "flows": list(meta.get("flows") or ["default"]), "triggers": [], "functions": [],
                "enqueues": _collect(meta, _KEYS_ENQUEUE), "virtualEnqueues": _collect(meta, _KEYS_VIRTUAL),
                "virtualSubscribes": _collect(meta, _KEYS_VSUB), "worker": fn.get("worker_name"),
            }
        step["functions"].append(fn["function_id"])
        for trig in triggers:  # one step may register one function per trigger: dedupe
            light = {k: v for k, v in trig.items() if not k.endswith("Schema") and k != "input"}
            if light not in step["triggers"]:
                step["triggers"].append(light)
    for step in steps.values():
        step["type"] = _node_type(step["triggers"])
        step["subscribes"] = _subscribed_topics(step["triggers"])
    return {"flows": _group(list(steps.values()))}


def _group(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    subscribers: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        for topic in step["subscribes"] + step["virtualSubscribes"]:
            subscribers.setdefault(topic, []).append(step)
    names = sorted({f for s in steps for f in s["flows"]})
    flows = []
    for name in names:
        members = [s for s in steps if name in s["flows"]]
        ids = {s["id"] for s in members}
        nodes = [{**s, "ghost": False} for s in members]
        edges: list[dict[str, Any]] = []
        for src in members:
            for virtual, topics in ((False, src["enqueues"]), (True, src["virtualEnqueues"])):
                for topic in topics:
                    if not subscribers.get(topic):  # nobody listens (yet): a topic node ends the edge
                        tid = f"topic:{topic}"
                        if tid not in ids:
                            ids.add(tid)
                            nodes.append({"id": tid, "name": topic, "type": "topic", "ghost": False, "triggers": []})
                        edges.append({"from": src["id"], "to": tid, "topic": topic, "virtual": virtual})
                    for dst in subscribers.get(topic, []):
                        if dst["id"] not in ids:  # linked from another flow: show it, greyed
                            ids.add(dst["id"])
                            nodes.append({**dst, "ghost": True})
                        edges.append({"from": src["id"], "to": dst["id"], "topic": topic, "virtual": virtual})
        flows.append({"id": name, "nodes": nodes, "edges": edges})
    return flows
