"""POST /agent/ask {conversation_id?, text}: the same as the page's ``agent::public::ask``."""

from typing import Any

from agentapp import conversation

from pyiii.steps import ApiRequest, FlowContext, http

config = {
    "name": "AgentAsk",
    "description": "Ask the agent; the answer streams to stream `agent`, group = conversation id",
    "triggers": [http("POST", "/agent/ask")],
    "enqueues": [conversation.TURN_TOPIC],
    "flows": ["agent"],
}


async def handler(request: ApiRequest, ctx: FlowContext) -> dict[str, Any]:
    body = request.body if isinstance(request.body, dict) else {}
    try:
        out = await conversation.ask(ctx.call, body.get("conversation_id"), body.get("text"))
    except ValueError as exc:
        return {"status": 400, "body": {"error": str(exc)}}
    return {"status": 202, "body": out}
