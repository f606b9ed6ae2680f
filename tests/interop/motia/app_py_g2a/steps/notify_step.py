from typing import Any

from motia import FlowContext, queue, stateManager

config = {"name": "Notify", "triggers": [queue("order.processed")], "flows": ["orders"]}


async def handler(event: Any, ctx: FlowContext[Any]) -> None:
    await stateManager.set("notified", event["id"], {"id": event["id"], "trace": bool(ctx.trace_id)})
