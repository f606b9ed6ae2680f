"""GET /orders/:id: the stored order, or 404 while it is still in the queue."""

from typing import Any

from pyiii.steps import ApiRequest, FlowContext, http

config = {"name": "GetOrder", "triggers": [http("GET", "/orders/:id")], "flows": ["orders"]}


def handler(request: ApiRequest[None], ctx: FlowContext) -> dict[str, Any]:
    order = ctx.state.get("orders", request.path_params["id"])  # sync handler: a blocking call
    if order is None:
        # The one error shape pyiii's own errors have (docs/errors.md).
        return {"status": 404, "body": {"error": {"code": "NOT_FOUND", "message": "no such order (yet)"}}}
    return {"status": 200, "body": order}
