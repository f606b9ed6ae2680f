"""The ReAct loop: ask the model, run the tools it calls, feed the results back, until it answers.

The loop owns no storage and no transport: the caller passes the conversation (``messages`` is
extended in place), a :class:`Caller` to run tools through the engine, and an
:class:`AgentEvents` to publish progress (tokens, tool calls) wherever it likes.
"""

from __future__ import annotations

import json
from typing import Any

from .chat import ChatClient, ChatResult, ToolCall
from .tools import Caller, Tool, openai_tools


class AgentEvents:
    """Progress hooks; the defaults do nothing. ``step`` counts model calls from 0."""

    async def on_token(self, step: int, text: str) -> None: ...

    async def on_assistant(self, step: int, result: ChatResult) -> None: ...

    async def on_tool_call(self, step: int, call: ToolCall, tool: Tool | None) -> None: ...

    async def on_tool_result(self, step: int, call: ToolCall, result: Any, error: str | None) -> None: ...


def _tool_content(result: Any, error: str | None) -> str:
    return json.dumps({"error": error} if error is not None else result, default=str)


async def run_react(client: ChatClient, messages: list[dict[str, Any]], tools: list[Tool], call: Caller,
                    events: AgentEvents | None = None, *, max_steps: int = 8) -> ChatResult:
    """Run until the model answers without tool calls (or ``max_steps`` model calls); return
    the last model result. Tool failures go back to the model as ``{"error": ...}``."""
    events = events or AgentEvents()
    by_name = {t.name: t for t in tools}
    schema = openai_tools(tools)
    result = ChatResult()
    for step in range(max_steps):

        async def token(text: str, step: int = step) -> None:
            await events.on_token(step, text)

        result = await client.complete(messages, schema, on_token=token)
        messages.append(result.as_message())
        await events.on_assistant(step, result)
        if not result.tool_calls:
            return result
        for tool_call in result.tool_calls:
            tool = by_name.get(tool_call.name)
            await events.on_tool_call(step, tool_call, tool)
            value: Any = None
            error: str | None = None
            if tool is None:
                error = f"unknown tool {tool_call.name!r}"
            else:
                try:
                    value = await call(tool.function_id, tool_call.parsed_arguments())
                except Exception as exc:  # any failure is information for the model
                    error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            await events.on_tool_result(step, tool_call, value, error)
            messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": _tool_content(value, error)})
    return result
