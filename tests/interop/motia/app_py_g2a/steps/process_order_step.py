from typing import Any

from motia import FlowContext, Stream, enqueue, queue, stateManager

config = {
    "name": "ProcessOrder",
    "triggers": [queue("order.created")],
    "enqueues": ["order.processed"],
    "flows": ["orders"],
}


async def handler(order: Any, ctx: FlowContext[Any]) -> None:
    await stateManager.set("orders", order["id"], {**order, "status": "processed"})
    await Stream("orderStatus").set("orders", order["id"], {"id": order["id"], "status": "processed"})
    await enqueue({"topic": "order.processed", "data": {"id": order["id"]}})
