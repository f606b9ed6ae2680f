"""Tools are ordinary registered functions, found at run time in the engine's registry.

A function is a tool when its metadata has ``agent_tool: true`` (configurable). Its description
and request schema (``engine::functions::info``) become an OpenAI ``tools`` entry, so adding a
tool is registering a function — in any language, in any worker — and the agent sees it on its
next turn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

#: ``call(function_id, payload)`` -> result: the one thing the agent needs from a worker.
Caller = Callable[[str, Any], Awaitable[Any]]

INFO_BATCH = 32  # engine::functions::info accepts at most 32 ids per call
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class Tool:
    function_id: str
    name: str  # what the model sees: ^[A-Za-z0-9_-]{1,64}$
    description: str
    parameters: dict[str, Any]

    def as_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


def tool_name(function_id: str) -> str:
    """``tools::weather::forecast`` -> ``tools__weather__forecast`` (OpenAI's name alphabet)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", function_id.replace("::", "__"))[:64] or "tool"


def _schema(value: Any) -> dict[str, Any]:
    # OpenAI wants an object schema; a missing or scalar request schema gets an empty object.
    if isinstance(value, dict) and value.get("type", "object") == "object":
        return {"type": "object", "properties": {}, **value}
    return dict(EMPTY_SCHEMA)


async def discover_tools(call: Caller, *, metadata_key: str = "agent_tool", prefix: str | None = None) -> list[Tool]:
    listing = await call("engine::functions::list", {"prefix": prefix} if prefix else {})
    ids = [f["function_id"] for f in listing.get("functions", [])
           if isinstance(f.get("metadata"), dict) and f["metadata"].get(metadata_key)]
    details: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), INFO_BATCH):
        batch = await call("engine::functions::info", {"function_ids": ids[start:start + INFO_BATCH]})
        for item in batch.get("functions", []):
            if "error" not in item:  # gone since the listing, or hidden from this session
                details[item["function_id"]] = item
    tools: list[Tool] = []
    seen: set[str] = set()
    for function_id in ids:
        if function_id not in details:
            continue
        name = tool_name(function_id)
        while name in seen:  # two ids that sanitise alike
            name = f"{name[:60]}_{len(seen)}"
        seen.add(name)
        info = details[function_id]
        tools.append(Tool(function_id, name, info.get("description") or function_id,
                          _schema(info.get("request_schema"))))
    return tools


def openai_tools(tools: list[Tool]) -> list[dict[str, Any]]:
    return [t.as_openai() for t in tools]
