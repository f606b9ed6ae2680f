"""An OpenAI-compatible ``/chat/completions`` client that streams (SSE) and assembles tool calls.

Any provider or local server that speaks the OpenAI chat API works: the base URL, key and model
come from ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` and ``OPENAI_MODEL`` unless given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .sse import iter_sse_data

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"

TokenCallback = Callable[[str], Awaitable[None]]


class ChatError(Exception):
    """The model endpoint answered with an error status or an unreadable stream."""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model produced it

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as an object; malformed or non-object JSON gives ``{}``."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    def as_message_part(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class ChatResult:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None

    def as_message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [c.as_message_part() for c in self.tool_calls]
        return message


class _Assembler:
    """Folds streamed deltas into one result: text is concatenated, tool calls are keyed by
    their ``index`` (the id and name arrive once, the arguments in fragments)."""

    def __init__(self) -> None:
        self.result = ChatResult()
        self._calls: dict[int, ToolCall] = {}

    def add(self, chunk: dict[str, Any]) -> str:
        text = ""
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            piece = delta.get("content")
            if isinstance(piece, str) and piece:
                text += piece
            for part in delta.get("tool_calls") or []:
                index = int(part.get("index", len(self._calls)))
                call = self._calls.setdefault(index, ToolCall(id="", name="", arguments=""))
                call.id = part.get("id") or call.id
                function = part.get("function") or {}
                call.name = function.get("name") or call.name
                call.arguments += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self.result.finish_reason = choice["finish_reason"]
        self.result.content += text
        return text

    def finish(self) -> ChatResult:
        self.result.tool_calls = [self._calls[i] for i in sorted(self._calls)]
        for n, call in enumerate(self.result.tool_calls):
            call.id = call.id or f"call_{n}"
        return self.result


class ChatClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str | None = None,
                 *, timeout: float = 120.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.model = model or os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL
        self.timeout = timeout
        self.transport = transport

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                       on_token: TokenCallback | None = None, **extra: Any) -> ChatResult:
        """One streamed completion; ``on_token`` sees each text fragment as it arrives."""
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True, **extra}
        if tools:
            body["tools"] = tools
        assembler = _Assembler()
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
            async with http.stream("POST", f"{self.base_url}/chat/completions", json=body,
                                   headers=self._headers()) as response:
                if response.status_code >= 400:
                    detail = (await response.aread()).decode(errors="replace")[:500]
                    raise ChatError(f"model endpoint answered {response.status_code}: {detail}")
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    # A server that ignored stream=true: one JSON completion.
                    assembler.add(json.loads(await response.aread()))
                    if on_token and assembler.result.content:
                        await on_token(assembler.result.content)
                    return assembler.finish()
                async for data in iter_sse_data(response.aiter_lines()):
                    if data.strip() == "[DONE]":
                        break
                    try:
                        chunk = json.loads(data)
                    except json.JSONDecodeError as exc:
                        raise ChatError(f"unreadable stream chunk: {data[:200]!r}") from exc
                    if "error" in chunk:
                        raise ChatError(f"model error: {chunk['error']}")
                    text = assembler.add(chunk)
                    if text and on_token:
                        await on_token(text)
        return assembler.finish()
