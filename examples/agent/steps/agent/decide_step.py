"""POST /agent/decide {conversation_id, draft_id, approved}: the same as ``agent::public::decide``."""

from typing import Any

from agentapp import conversation

from pyiii.steps import ApiRequest, FlowContext, http

config = {
    "name": "AgentDecide",
    "description": "A human approves or rejects a draft; the decision resumes the flow through the queue",
    "triggers": [http("POST", "/agent/decide")],
    "enqueues": [conversation.DECIDED_TOPIC],
    "flows": ["agent"],
}


async def handler(request: ApiRequest, ctx: FlowContext) -> dict[str, Any]:
    body = request.body if isinstance(request.body, dict) else {}
    try:
        out = await conversation.decide(ctx.call, body.get("conversation_id", ""), body.get("draft_id", ""),
                                        body.get("approved"))
    except ValueError as exc:
        return {"status": 400, "body": {"error": str(exc)}}
    except LookupError as exc:
        return {"status": 404, "body": {"error": str(exc)}}
    return {"status": 202, "body": out}
