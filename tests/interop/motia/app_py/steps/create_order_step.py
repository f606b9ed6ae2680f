from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, http
from pydantic import BaseModel


class OrderBody(BaseModel):
    item: str
    quantity: int


async def stamp(request: ApiRequest[Any], ctx: FlowContext[Any], next: Any) -> ApiResponse[Any]:
    response = await next()
    response.headers["x-stamped"] = "yes"
    return response


config = {
    "name": "CreateOrder",
    "description": "Store an order and hand it to the queue",
    "triggers": [http("POST", "/orders", body_schema=OrderBody, middleware=[stamp])],
    "enqueues": ["order.created"],
    "flows": ["orders"],
}


async def handler(request: ApiRequest[OrderBody], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    body = request.body
    order = {"id": f"{body.item}-{body.quantity}", "item": body.item, "quantity": body.quantity, "status": "new"}
    await ctx.state.set("orders", order["id"], order)
    await ctx.enqueue({"topic": "order.created", "data": order})
    ctx.logger.info("order created", {"id": order["id"]})
    return ApiResponse(status=201, body=order)
