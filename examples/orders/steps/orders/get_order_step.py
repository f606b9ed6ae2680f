"""GET /orders/:id: the stored order, or 404 while it is still in the queue."""

from typing import Any

from pyiii.steps import ApiRequest, FlowContext, http

config = {"name": "GetOrder", "triggers": [http("GET", "/orders/:id")], "flows": ["orders"]}


def handler(request: ApiRequest[None], ctx: FlowContext) -> dict[str, Any]:
    order = ctx.state.get("orders", request.path_params["id"])  # sync handler: a blocking call
    if order is None:
        return {"status": 404, "body": {"error": "not found (yet)"}}
    return {"status": 200, "body": order}
