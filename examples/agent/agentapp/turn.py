"""One agent turn: the ReAct loop over the conversation's memory, with tools discovered from the
engine, tokens and tool calls shown live on the ``agent`` stream."""

from __future__ import annotations

import os
import time
from typing import Any

from pyiii.agent import (
    AgentEvents,
    Caller,
    ChatClient,
    ChatError,
    ChatResult,
    Tool,
    ToolCall,
    discover_tools,
    run_react,
)

from .conversation import AWAITING, Conversation, current_traceparent, trace_id_of

SYSTEM_PROMPT = (
    "You are a helpful assistant running on pyiii. Use the tools you are given when they help. "
    "Emails are never sent directly: draft them with the draft tool; a human approves them."
)
FLUSH_EVERY_S = 0.05  # coalesce token updates: one stream write per 50 ms, not per token


def model_client() -> ChatClient:
    """OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL; without a base URL, the local fake model."""
    base = os.environ.get("OPENAI_BASE_URL") or f"http://127.0.0.1:{os.environ.get('MODEL_PORT', '8765')}/v1"
    return ChatClient(base_url=base)


class StreamEvents(AgentEvents):
    """Writes the turn to the stream: one assistant item per model step, one item per tool call."""

    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.answer: dict[int, tuple[str, str]] = {}  # step -> (item id, text so far)
        self.flushed_at = 0.0
        self.tool_items: dict[str, tuple[str, dict[str, Any]]] = {}
        self.awaiting_approval = False

    async def on_token(self, step: int, text: str) -> None:
        if step not in self.answer:
            self.answer[step] = (await self.conv.add_item("assistant", text="", done=False), "")
        item_id, so_far = self.answer[step]
        self.answer[step] = (item_id, so_far + text)
        if time.monotonic() - self.flushed_at >= FLUSH_EVERY_S:
            await self._flush(step, done=False)

    async def _flush(self, step: int, done: bool) -> None:
        item_id, text = self.answer[step]
        self.flushed_at = time.monotonic()
        await self.conv.show(item_id, {"seq": int(item_id[1:]), "kind": "assistant", "text": text, "done": done})

    async def on_assistant(self, step: int, result: ChatResult) -> None:
        if step in self.answer:
            await self._flush(step, done=True)

    async def on_tool_call(self, step: int, call: ToolCall, tool: Tool | None) -> None:
        item = {"kind": "tool", "name": call.name, "function_id": tool.function_id if tool else None,
                "arguments": call.parsed_arguments(), "status": "running"}
        item_id = await self.conv.add_item(**item)
        self.tool_items[call.id] = (item_id, item)

    async def on_tool_result(self, step: int, call: ToolCall, result: Any, error: str | None) -> None:
        item_id, item = self.tool_items[call.id]
        done = {**item, "seq": int(item_id[1:]), "status": "error" if error else "done", "result": result,
                "error": error}
        await self.conv.show(item_id, done)
        if isinstance(result, dict) and result.get("status") == AWAITING:
            self.awaiting_approval = True


async def run_turn(call: Caller, conversation_id: str) -> dict[str, Any]:
    conv = Conversation(call, conversation_id)
    history = await conv.memory()
    tools = await discover_tools(call)
    events = StreamEvents(conv)
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, *history]

    async def call_tool(function_id: str, args: Any) -> Any:
        # Tools learn which conversation they serve without the model having to say it.
        return await call(function_id, {**args, "_agent": {"conversation_id": conv.id}})

    try:
        result = await run_react(model_client(), messages, tools, call_tool, events)
    except ChatError as exc:
        await conv.add_item("error", text=str(exc))
        await conv.set_status("error", error=str(exc))
        return {"status": "error", "error": str(exc)}
    await conv.remember(messages[1:])
    status = AWAITING if events.awaiting_approval else "completed"
    await conv.set_status(status, trace_id=trace_id_of(current_traceparent()))
    return {"status": status, "answer": result.content, "tools": [t.function_id for t in tools]}
