from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, http

config = {"name": "Stats", "triggers": [http("GET", "/stats")], "flows": ["clock"]}


async def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    count = await ctx.state.get("ticks", "count")
    notified = await ctx.state.list("notified")
    return ApiResponse(status=200, body={"ticks": count or 0, "notified": sorted(n["id"] for n in notified)})
