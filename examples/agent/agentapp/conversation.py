"""Conversations: memory and drafts in state (one scope per conversation), progress on the
``agent`` stream (group = conversation id), turns and decisions on durable queue topics.

State scope ``agent:<conversation id>``:
  ``meta``            {"seq": last item number, "status": thinking|awaiting_approval|completed|error}
  ``memory``          {"messages": [OpenAI chat messages, without the system prompt]}
  ``draft:<id>``      {"id", "to", "subject", "body", "status": awaiting_approval|sent|rejected, "traceparent"}
Stream ``agent`` / group ``<conversation id>``: one item per message, tool call and draft
(``{"id", "seq", "kind", ...}``) plus the item ``status``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyiii.agent import Caller
from pyiii.sdk import tracing

STREAM = "agent"
TURN_TOPIC = "agent.turn"
DECIDED_TOPIC = "agent.draft.decided"
OUTBOX_SCOPE = "agent-outbox"
AWAITING = "awaiting_approval"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def check_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{what} must be 1-64 letters, digits, '_' or '-'")
    return value


@contextmanager
def continue_trace(traceparent: str | None) -> Iterator[None]:
    """Calls made inside join the trace ``traceparent`` belongs to (the approval, hours later,
    continues the conversation's trace instead of starting its own)."""
    if not traceparent:
        yield
        return
    token = tracing.enter(tracing.TraceContext(traceparent=traceparent))
    # With OpenTelemetry set up, the active span decides what calls carry: make the stored
    # context the active one too.
    otel_token = None
    try:
        from opentelemetry import context, propagate

        otel_token = context.attach(propagate.extract({"traceparent": traceparent}))
    except ImportError:
        pass
    try:
        yield
    finally:
        if otel_token is not None:
            context.detach(otel_token)
        tracing.leave(token)


def current_traceparent() -> str | None:
    ctx = tracing.current()
    return ctx.traceparent if ctx is not None else None


def trace_id_of(traceparent: str | None) -> str | None:
    return tracing.ids(traceparent)[0]


def new_traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


class Conversation:
    def __init__(self, call: Caller, conversation_id: str) -> None:
        self.call = call
        self.id = check_id(conversation_id, "conversation_id")
        self.scope = f"agent:{self.id}"

    async def next_seq(self) -> int:
        out = await self.call("state::update", {"scope": self.scope, "key": "meta",
                                                "ops": [{"type": "increment", "path": "seq", "by": 1}]})
        return int(out["new_value"]["seq"])

    async def show(self, item_id: str, item: dict[str, Any]) -> None:
        await self.call("stream::set", {"stream_name": STREAM, "group_id": self.id, "item_id": item_id,
                                        "data": {**item, "id": item_id}})

    async def add_item(self, kind: str, **fields: Any) -> str:
        seq = await self.next_seq()
        item_id = f"m{seq:05d}"
        await self.show(item_id, {"seq": seq, "kind": kind, **fields})
        return item_id

    async def set_status(self, status: str, **extra: Any) -> None:
        fields = {"status": status, **extra}
        await self.call("state::update", {"scope": self.scope, "key": "meta",
                                          "ops": [{"type": "set", "path": k, "value": v} for k, v in fields.items()]})
        await self.show("status", {"seq": 0, "kind": "status", "status": status, **extra})

    async def meta(self) -> dict[str, Any]:
        meta = await self.call("state::get", {"scope": self.scope, "key": "meta"})
        return meta if isinstance(meta, dict) else {}

    async def memory(self) -> list[dict[str, Any]]:
        value = await self.call("state::get", {"scope": self.scope, "key": "memory"})
        return list(value.get("messages") or []) if isinstance(value, dict) else []

    async def remember(self, messages: list[dict[str, Any]]) -> None:
        await self.call("state::set", {"scope": self.scope, "key": "memory", "value": {"messages": messages}})

    async def append_memory(self, message: dict[str, Any]) -> None:
        await self.call("state::update", {"scope": self.scope, "key": "memory",
                                          "ops": [{"type": "append", "path": "messages", "value": message}]})

    async def draft(self, draft_id: str) -> dict[str, Any] | None:
        value = await self.call("state::get", {"scope": self.scope, "key": f"draft:{draft_id}"})
        return value if isinstance(value, dict) else None

    async def save_draft(self, draft: dict[str, Any]) -> None:
        await self.call("state::set", {"scope": self.scope, "key": f"draft:{draft['id']}", "value": draft})
        shown = {k: v for k, v in draft.items() if k not in ("id", "traceparent")}
        await self.show(f"draft-{draft['id']}", {**shown, "kind": "draft", "draft_id": draft["id"]})


async def ask(call: Caller, conversation_id: str | None, text: Any) -> dict[str, Any]:
    """A user message: remember it, show it, queue a turn (one at a time per conversation)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    conv = Conversation(call, conversation_id or new_id())
    # One trace per question, from here to the human's decision: join the caller's trace, or
    # start one when the caller sent none (a browser, curl).
    traceparent = current_traceparent() or new_traceparent()
    with continue_trace(traceparent):
        await conv.append_memory({"role": "user", "content": text.strip()})
        item = await conv.add_item("user", text=text.strip())
        await conv.set_status("thinking", trace_id=trace_id_of(traceparent))
        await call("iii::durable::publish", {"topic": TURN_TOPIC, "messageGroupId": conv.id,
                                             "data": {"conversation_id": conv.id, "user_item": item}})
    return {"conversation_id": conv.id, "item": item, "status": "thinking", "trace_id": trace_id_of(traceparent)}


async def create_draft(call: Caller, conversation_id: str, to: str, subject: str, body: str) -> dict[str, Any]:
    """The draft tool: store the email and stop; a human decides later (see :func:`decide`)."""
    conv = Conversation(call, conversation_id)
    draft = {"id": new_id(), "to": to, "subject": subject, "body": body, "status": AWAITING,
             "seq": await conv.next_seq(), "created_at": time.time(),
             "traceparent": current_traceparent()}
    await conv.save_draft(draft)
    return {"draft_id": draft["id"], "status": AWAITING,
            "note": "Saved as a draft. It is sent only after a human approves it on the page."}


async def decide(call: Caller, conversation_id: str, draft_id: str, approved: Any) -> dict[str, Any]:
    """A human's approve/reject: a durable queue message resumes the flow (nothing waits in
    memory, so the decision may come after an engine restart)."""
    if not isinstance(approved, bool):
        raise ValueError("approved must be true or false")
    conv = Conversation(call, conversation_id)
    draft = await conv.draft(check_id(draft_id, "draft_id"))
    if draft is None:
        raise LookupError(f"no draft {draft_id} in conversation {conv.id}")
    if draft["status"] != AWAITING:
        return {"draft_id": draft_id, "status": draft["status"], "already_decided": True}
    with continue_trace(draft.get("traceparent")):
        await call("iii::durable::publish", {"topic": DECIDED_TOPIC, "messageGroupId": conv.id,
                                             "data": {"conversation_id": conv.id, "draft_id": draft_id,
                                                      "approved": approved}})
    return {"draft_id": draft_id, "status": "deciding", "approved": approved}


async def finish_draft(call: Caller, conversation_id: str, draft_id: str, approved: bool) -> dict[str, Any]:
    """Apply a decision: send (the outbox) or discard, tell the page, end the turn. Idempotent:
    a redelivered decision finds the draft no longer awaiting and does nothing."""
    conv = Conversation(call, conversation_id)
    draft = await conv.draft(draft_id)
    if draft is None or draft["status"] != AWAITING:
        return {"draft_id": draft_id, "status": draft["status"] if draft else "missing", "skipped": True}
    if approved:
        await call("state::set", {"scope": OUTBOX_SCOPE, "key": draft_id,
                                  "value": {**draft, "status": "sent", "sent_at": time.time(),
                                            "trace_id": trace_id_of(current_traceparent())}})
        text = f"Approved: the email to {draft['to']} was sent."
    else:
        text = f"Rejected: the draft to {draft['to']} was discarded."
    await conv.append_memory({"role": "assistant", "content": text})
    await conv.add_item("assistant", text=text, done=True)
    await conv.set_status("completed", trace_id=trace_id_of(current_traceparent()))
    await conv.save_draft({**draft, "status": "sent" if approved else "rejected"})  # last: marks it done
    return {"draft_id": draft_id, "status": "sent" if approved else "rejected"}
