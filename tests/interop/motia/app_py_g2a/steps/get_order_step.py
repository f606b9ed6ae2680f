from typing import Any

from motia import ApiResponse, FlowContext, MotiaHttpArgs, Stream, http, stateManager


async def require_key(args: MotiaHttpArgs[Any], ctx: FlowContext[Any], next: Any) -> ApiResponse[Any]:
    if args.request.headers.get("x-key") != "secret":
        return ApiResponse(status=401, body={"error": "Unauthorized"})
    return await next()


config = {
    "name": "GetOrder",
    "triggers": [http("GET", "/orders/:id", middleware=[require_key])],
    "flows": ["orders"],
}


async def handler(args: MotiaHttpArgs[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    order_id = args.request.path_params["id"]
    order = await stateManager.get("orders", order_id)
    if order is None:
        return ApiResponse(status=404, body={"error": "not found"})
    status = await Stream("orderStatus").get("orders", order_id)
    return ApiResponse(status=200, body={"order": order, "stream": status})
