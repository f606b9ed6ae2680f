"""Queue ``agent.turn``: one ReAct turn (tools discovered at run time, tokens streamed live).

FIFO per conversation (``messageGroupId`` = conversation id): two questions in one
conversation run one after the other; different conversations run in parallel."""

from typing import Any

from agentapp import conversation
from agentapp.turn import run_turn

from pyiii.steps import FlowContext, queue

config = {
    "name": "AgentTurn",
    "description": "Run the agent loop for a conversation",
    "triggers": [queue(conversation.TURN_TOPIC, config={"type": "fifo", "concurrency": 8, "maxRetries": 1})],
    "virtualEnqueues": ["agent stream"],
    "flows": ["agent"],
}


async def handler(data: dict[str, Any], ctx: FlowContext) -> None:
    out = await run_turn(ctx.call, data["conversation_id"])
    ctx.logger.info("agent turn done", {"conversation_id": data["conversation_id"], "status": out["status"]})
