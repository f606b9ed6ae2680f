from typing import Any

from motia import FlowContext, cron, stateManager

config = {"name": "Tick", "triggers": [cron("* * * * * *")], "flows": ["clock"]}


async def handler(input: Any, ctx: FlowContext[Any]) -> None:
    count = await stateManager.get("ticks", "count")
    await stateManager.set("ticks", "count", (count or 0) + 1)
