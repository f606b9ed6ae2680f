"""The agent example's plain Python worker (pyiii.sdk), started by iii-exec.

* Tools (metadata ``agent_tool: true``, so the agent discovers them): ``tools::contacts::lookup``
  and ``tools::email::draft`` (stores a draft that waits for a human).
* What the browser page may call through the RBAC listener (``expose_functions:
  match("agent::public::*")``): ``agent::public::ask`` and ``agent::public::decide``.
* ``agent::auth``: the listener's auth function (the page passes ``?token=`` in the URL).
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from agentapp import conversation

from pyiii.sdk import InitOptions, register_worker

CONTACTS = {
    "ada": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "grace": {"name": "Grace Hopper", "email": "grace@example.com"},
    "alan": {"name": "Alan Turing", "email": "alan@example.com"},
}
BROWSER_TOKEN = os.environ.get("AGENT_BROWSER_TOKEN", "demo-token")

iii = register_worker(os.environ.get("III_URL", "ws://127.0.0.1:49134"),
                      InitOptions(worker_name="agent-worker"))


async def call(function_id: str, payload: Any) -> Any:
    return await iii.trigger_async({"function_id": function_id, "payload": payload})


def lookup_contact(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name", "")).strip().lower()
    contact = CONTACTS.get(name.split(" ")[0]) if name else None
    if contact is None:
        raise LookupError(f"no contact named {data.get('name')!r}")
    return contact


async def draft_email(data: dict[str, Any]) -> dict[str, Any]:
    conversation_id = (data.get("_agent") or {}).get("conversation_id")
    if not conversation_id:
        raise ValueError("the draft tool runs inside an agent conversation")
    return await conversation.create_draft(call, conversation_id, str(data["to"]), str(data.get("subject", "")),
                                           str(data.get("body", "")))


def authenticate(data: dict[str, Any]) -> dict[str, Any]:
    token = (data.get("query_params", {}).get("token") or [None])[0]
    if token != BROWSER_TOKEN:
        raise PermissionError("invalid token")
    # The page may register functions and bind them to `stream` triggers (live updates).
    return {"allow_function_registration": True, "allowed_trigger_types": ["stream"],
            "context": {"role": "browser"}}


async def public_ask(data: dict[str, Any]) -> dict[str, Any]:
    return await conversation.ask(call, data.get("conversation_id"), data.get("text"))


async def public_decide(data: dict[str, Any]) -> dict[str, Any]:
    return await conversation.decide(call, data.get("conversation_id", ""), data.get("draft_id", ""),
                                     data.get("approved"))


iii.register_function(
    "tools::contacts::lookup", lookup_contact, description="Find a person's email address by first name",
    metadata={"agent_tool": True},
    request_format={"type": "object", "properties": {"name": {"type": "string", "description": "first name"}},
                    "required": ["name"]},
    response_format={"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}},
)
iii.register_function(
    "tools::email::draft", draft_email,
    description="Draft an email. It is NOT sent: a human approves or rejects the draft first.",
    metadata={"agent_tool": True},
    request_format={"type": "object", "required": ["to", "subject", "body"],
                    "properties": {"to": {"type": "string"}, "subject": {"type": "string"},
                                   "body": {"type": "string"}}},
    response_format={"type": "object", "properties": {"draft_id": {"type": "string"},
                                                      "status": {"type": "string"}}},
)
iii.register_function("agent::auth", authenticate, description="Auth function of the browser listener")
iii.register_function("agent::public::ask", public_ask, description="Ask the agent (from the page)")
iii.register_function("agent::public::decide", public_decide, description="Approve or reject a draft (from the page)")


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await iii.shutdown_async()


if __name__ == "__main__":
    asyncio.run(main())
