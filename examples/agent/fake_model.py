"""A deterministic OpenAI-compatible chat server for the agent example and its tests.

    python fake_model.py --port 8765        # then OPENAI_BASE_URL=http://127.0.0.1:8765/v1

It speaks ``POST /v1/chat/completions`` (streamed as SSE when ``stream: true``, else one JSON
completion) and decides like a tiny ReAct model, only from the conversation and the ``tools`` it
is offered (it finds them by name, so it only uses tools the agent really discovered):

* "... weather in Paris ..."            -> call the weather tool, then answer with the forecast;
* "... email Ada ..." (plus a city)     -> weather + contact lookup (two parallel calls), then the
                                           draft tool with a composed email, then a short answer
                                           saying the draft waits for approval.

``GET /debug/requests`` returns the requests it received (tests check which tools were sent).
Only the standard library: it must start anywhere, offline.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DELAY_S = float(os.environ.get("FAKE_MODEL_DELAY_MS", "15")) / 1000
REQUESTS: list[dict[str, Any]] = []
LOCK = threading.Lock()


# ---------------------------------------------------------------------------------- decisions


def _find_tool(tools: list[dict[str, Any]], word: str) -> str | None:
    for tool in tools:
        name = str(tool.get("function", {}).get("name", ""))
        if word in name.lower():
            return name
    return None


def _turn(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The last user message and the results of tools called since, by tool name."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    text = str(messages[last_user].get("content") or "") if last_user >= 0 else ""
    names: dict[str, str] = {}
    results: dict[str, Any] = {}
    for message in messages[last_user + 1:]:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            try:
                value = json.loads(message.get("content") or "null")
            except json.JSONDecodeError:
                value = message.get("content")
            results[names.get(message.get("tool_call_id", ""), "?")] = value
    return text, results


def decide(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"tool_calls": [(name, args), ...]}`` or ``{"content": text}``."""
    text, results = _turn(messages)
    city_match = re.search(r"\b(?:in|for) ([A-Z][a-zA-Z]+)", text)
    person_match = re.search(r"\b(?:[Ee]mail|[Ww]rite to|[Mm]ail) ([A-Z][a-z]+)", text)
    weather, contacts, draft = _find_tool(tools, "weather"), _find_tool(tools, "contact"), _find_tool(tools, "draft")
    calls: list[tuple[str, dict[str, Any]]] = []
    if weather and city_match and weather not in results:
        calls.append((weather, {"city": city_match.group(1)}))
    if person_match and contacts and contacts not in results:
        calls.append((contacts, {"name": person_match.group(1)}))
    if calls:
        return {"tool_calls": calls}
    forecast = results.get(weather) if weather else None
    contact = results.get(contacts) if contacts else None
    sentence = ""
    if isinstance(forecast, dict) and "error" not in forecast:
        sentence = f"It is {forecast.get('summary')} in {forecast.get('city')} at {forecast.get('temperature_c')}°C."
    elif isinstance(forecast, dict):
        sentence = f"I could not get the weather: {forecast['error']}."
    if person_match and draft and draft not in results and isinstance(contact, dict) and contact.get("email"):
        body = f"Hi {contact.get('name')},\n\n{sentence or 'Just checking in.'}\n\nBest regards"
        subject = f"Weather in {forecast.get('city')}" if isinstance(forecast, dict) else "Hello"
        return {"tool_calls": [(draft, {"to": contact["email"], "subject": subject, "body": body})]}
    parts = [sentence] if sentence else []
    drafted = results.get(draft) if draft else None
    if isinstance(drafted, dict) and drafted.get("status") == "awaiting_approval":
        parts.append(f"I drafted an email to {contact.get('email') if isinstance(contact, dict) else 'them'}; "
                     "it is waiting for your approval.")
    elif person_match and not contacts:
        parts.append("I have no tool to look up contacts.")
    if not parts:
        parts.append(f"You said: {text}" if text else "Hello! Ask me about the weather.")
    return {"content": " ".join(parts)}


# ---------------------------------------------------------------------------------- wire format


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def stream_chunks(decision: dict[str, Any], model: str, call_base: int) -> list[dict[str, Any]]:
    chunks = [_chunk(model, {"role": "assistant", "content": ""})]
    if "content" in decision:
        for word in re.findall(r"\S+\s*", decision["content"]):
            chunks.append(_chunk(model, {"content": word}))
        chunks.append(_chunk(model, {}, "stop"))
        return chunks
    for index, (name, args) in enumerate(decision["tool_calls"]):
        arguments = json.dumps(args)
        half = len(arguments) // 2  # arguments arrive in fragments, as real servers send them
        chunks.append(_chunk(model, {"tool_calls": [{"index": index, "id": f"call_{call_base}_{index}",
                                                     "type": "function",
                                                     "function": {"name": name, "arguments": arguments[:half]}}]}))
        chunks.append(_chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]}))
    chunks.append(_chunk(model, {}, "tool_calls"))
    return chunks


def whole_completion(decision: dict[str, Any], model: str, call_base: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": decision.get("content")}
    if "tool_calls" in decision:
        message["tool_calls"] = [{"id": f"call_{call_base}_{i}", "type": "function",
                                  "function": {"name": name, "arguments": json.dumps(args)}}
                                 for i, (name, args) in enumerate(decision["tool_calls"])]
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if "tool_calls" in decision else "stop"}]}


class Handler(BaseHTTPRequestHandler):
    api_key: str | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the engine log is enough
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake-react", "object": "model"}]})
        elif self.path == "/debug/requests":
            with LOCK:
                self._json(200, list(REQUESTS))
        elif self.path == "/health":
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found"}})
            return
        if self.api_key and self.headers.get("authorization") != f"Bearer {self.api_key}":
            self._json(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        messages, tools = body.get("messages") or [], body.get("tools") or []
        with LOCK:
            REQUESTS.append({"messages": messages, "tools": tools})
        decision = decide(messages, tools)
        model = str(body.get("model") or "fake-react")
        if not body.get("stream"):
            self._json(200, whole_completion(decision, model, len(messages)))
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for chunk in stream_chunks(decision, model, len(messages)):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(DELAY_S)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MODEL_PORT", "8765")))
    parser.add_argument("--api-key", default=os.environ.get("FAKE_MODEL_API_KEY"))
    args = parser.parse_args()
    Handler.api_key = args.api_key
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"fake model on http://{args.host}:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
