"""Queue ``order.created``: fraud check (a Node.js worker), then state + the live stream.

Orders sent with ``simulate_failure: true`` fail their first attempt; the queue retries them
after ``backoffDelayMs`` and the second attempt succeeds.
"""

from typing import Any

from pyiii.sdk import InvocationError
from pyiii.steps import FlowContext, queue

from .models import Order

config = {
    "name": "ProcessOrder",
    "description": "Check an order for fraud, store it and publish it live",
    "triggers": [queue("order.created", input=Order, config={"maxRetries": 3, "backoffDelayMs": 100})],
    "flows": ["orders"],
}


async def handler(order: Order, ctx: FlowContext) -> None:
    attempt = await ctx.state.update("order-attempts", order.id, [{"type": "increment", "path": "n", "by": 1}])
    attempts = int(attempt["new_value"]["n"])
    if order.simulate_failure and attempts == 1:
        raise RuntimeError(f"simulated failure of order {order.id} (attempt 1); the queue will retry")
    try:
        fraud: dict[str, Any] = await ctx.call("fraud::check", order.model_dump())
    except InvocationError as exc:  # the Node worker is not running: store the order unchecked
        ctx.logger.warn("fraud check unavailable", {"id": order.id, "error": exc.message})
        fraud = {"score": None, "flagged": False, "checked_by": "unavailable"}
    record = {**order.model_dump(), "status": "flagged" if fraud["flagged"] else "processed",
              "fraud": fraud, "attempts": attempts}
    await ctx.state.set("orders", order.id, record)
    await ctx.streams["orders"].set("all", order.id, record)
    ctx.logger.info("order processed", {"id": order.id, "status": record["status"]})
