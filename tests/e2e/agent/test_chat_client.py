"""pyiii.agent's OpenAI-compatible client and ReAct loop against the example's fake model
(in-process through httpx.MockTransport: no sockets, deterministic)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyiii.agent import ChatClient, ChatError, Tool, iter_sse_data, run_react, tool_name

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "agent"))
import fake_model

WEATHER = Tool("tools::weather::forecast", "tools__weather__forecast", "weather", {"type": "object"})


def fake_transport(stream: bool = True, key: str | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if key and request.headers.get("authorization") != f"Bearer {key}":
            return httpx.Response(401, json={"error": {"message": "invalid api key"}})
        body = json.loads(request.content)
        decision = fake_model.decide(body["messages"], body.get("tools") or [])
        if not stream:
            return httpx.Response(200, json=fake_model.whole_completion(decision, "m", len(body["messages"])))
        # Multi-line data fields, comments and CRLF are all legal SSE.
        chunks = fake_model.stream_chunks(decision, "m", len(body["messages"]))
        text = ": keep-alive\r\n\r\n" + "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks) + "data: [DONE]\n\n"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=text.encode())

    return httpx.MockTransport(handle)


async def test_sse_data_joins_multiline_events_and_skips_comments() -> None:
    async def lines() -> Any:
        for line in [": hi", "data: {\"a\":", "data: 1}", "", "event: x", "data:[DONE]", ""]:
            yield line

    assert [d async for d in iter_sse_data(lines())] == ['{"a":\n1}', "[DONE]"]


@pytest.mark.parametrize("stream", [True, False])
async def test_react_loop_calls_tools_and_streams_the_answer(stream: bool) -> None:
    client = ChatClient("http://fake/v1", "k", transport=fake_transport(stream, key="k"))
    calls: list[tuple[str, Any]] = []
    tokens: list[str] = []

    async def call(function_id: str, payload: Any) -> Any:
        calls.append((function_id, payload))
        return {"city": payload["city"], "summary": "sunny", "temperature_c": 21}

    class Events:
        async def on_token(self, step: int, text: str) -> None:
            tokens.append(text)

        async def on_assistant(self, step: int, result: Any) -> None: ...
        async def on_tool_call(self, step: int, call: Any, tool: Any) -> None: ...
        async def on_tool_result(self, step: int, call: Any, result: Any, error: Any) -> None: ...

    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in Oslo?"}]
    result = await run_react(client, messages, [WEATHER], call, Events())  # type: ignore[arg-type]
    assert calls == [("tools::weather::forecast", {"city": "Oslo"})]
    assert result.content == "It is sunny in Oslo at 21°C."
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert "".join(tokens) == result.content and (len(tokens) > 1) == stream


async def test_errors_are_chat_errors_and_tool_failures_go_back_to_the_model() -> None:
    with pytest.raises(ChatError, match="401"):
        await ChatClient("http://fake/v1", "wrong", transport=fake_transport(key="k")).complete([])

    async def broken(function_id: str, payload: Any) -> Any:
        raise RuntimeError("weather service down")

    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in Oslo?"}]
    result = await run_react(ChatClient("http://fake/v1", "", transport=fake_transport()), messages, [WEATHER], broken)
    assert json.loads(messages[2]["content"]) == {"error": "weather service down"}
    assert result.content == "I could not get the weather: weather service down."


def test_tool_names_fit_the_openai_alphabet() -> None:
    assert tool_name("tools::weather::forecast") == "tools__weather__forecast"
    assert tool_name("a.b/c d") == "a_b_c_d" and len(tool_name("x" * 100)) == 64
