"""POST /orders: validate the order, hand it to the queue, answer 202 with its id."""

import uuid

from pyiii.steps import ApiRequest, ApiResponse, FlowContext, http

from .models import NewOrder

config = {
    "name": "CreateOrder",
    "description": "Accept an order and enqueue it for processing",
    "triggers": [http("POST", "/orders", body_schema=NewOrder)],
    "enqueues": ["order.created"],
    "flows": ["orders"],
}


async def handler(request: ApiRequest[NewOrder], ctx: FlowContext) -> ApiResponse[dict[str, str]]:
    order_id = uuid.uuid4().hex[:12]
    await ctx.enqueue({"topic": "order.created", "data": {"id": order_id, **request.body.model_dump()}})
    ctx.logger.info("order accepted", {"id": order_id})
    return ApiResponse(202, {"id": order_id, "status": "accepted"})
