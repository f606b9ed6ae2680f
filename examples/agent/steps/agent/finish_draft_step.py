"""Queue ``agent.draft.decided``: the approval event resumes the flow — send or discard the draft.

Nothing waited in memory for this: the draft sat in state (SQLite) and the decision is a durable
queue message, so an engine restart between drafting and deciding changes nothing."""

from typing import Any

from agentapp import conversation

from pyiii.steps import FlowContext, queue

config = {
    "name": "AgentFinishDraft",
    "description": "Send an approved draft (the outbox) or discard a rejected one",
    "triggers": [queue(conversation.DECIDED_TOPIC, config={"type": "fifo", "concurrency": 8})],
    "flows": ["agent"],
}


async def handler(data: dict[str, Any], ctx: FlowContext) -> None:
    out = await conversation.finish_draft(ctx.call, data["conversation_id"], data["draft_id"], bool(data["approved"]))
    ctx.logger.info("draft decided", {"conversation_id": data["conversation_id"], **out})
