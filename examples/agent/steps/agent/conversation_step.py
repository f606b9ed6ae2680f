"""GET /agent/conversations/:id: status, memory and drafts of a conversation (from state)."""

from typing import Any

from agentapp.conversation import Conversation

from pyiii.steps import ApiRequest, FlowContext, http

config = {
    "name": "AgentConversation",
    "description": "Read a conversation's memory and status",
    "triggers": [http("GET", "/agent/conversations/:id")],
    "flows": ["agent"],
}


async def handler(request: ApiRequest, ctx: FlowContext) -> dict[str, Any]:
    try:
        conv = Conversation(ctx.call, request.path_params["id"])
    except ValueError as exc:
        return {"status": 400, "body": {"error": str(exc)}}
    meta = await conv.meta()
    return {"status": 200, "body": {"conversation_id": conv.id, "status": meta.get("status"),
                                    "trace_id": meta.get("trace_id"), "messages": await conv.memory()}}
