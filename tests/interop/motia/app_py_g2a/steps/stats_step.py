from typing import Any

from motia import ApiResponse, FlowContext, MotiaHttpArgs, http, stateManager

config = {"name": "Stats", "triggers": [http("GET", "/stats")], "flows": ["clock"]}


async def handler(args: MotiaHttpArgs[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    count = await stateManager.get("ticks", "count")
    notified = await stateManager.list("notified")
    return ApiResponse(status=200, body={"ticks": count or 0, "notified": sorted(n["id"] for n in notified)})
