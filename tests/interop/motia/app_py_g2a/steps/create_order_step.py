from typing import Any

from motia import ApiResponse, FlowContext, MotiaHttpArgs, enqueue, http, logger, stateManager


async def stamp(args: MotiaHttpArgs[Any], ctx: FlowContext[Any], next: Any) -> ApiResponse[Any]:
    response = await next()
    response.headers["x-stamped"] = "yes"
    return response


config = {
    "name": "CreateOrder",
    "description": "Store an order and hand it to the queue",
    "triggers": [http("POST", "/orders", middleware=[stamp])],
    "enqueues": ["order.created"],
    "flows": ["orders"],
}


async def handler(args: MotiaHttpArgs[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    body = args.request.body
    order = {"id": f"{body['item']}-{body['quantity']}", "item": body["item"], "quantity": body["quantity"],
             "status": "new"}
    await stateManager.set("orders", order["id"], order)
    await enqueue({"topic": "order.created", "data": order})
    logger.info("order created", {"id": order["id"]})
    return ApiResponse(status=201, body=order)
