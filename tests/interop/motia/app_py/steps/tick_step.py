from typing import Any

from motia import FlowContext, cron

config = {"name": "Tick", "triggers": [cron("* * * * * *")], "flows": ["clock"]}


async def handler(input: Any, ctx: FlowContext[Any]) -> None:
    count = await ctx.state.get("ticks", "count")
    await ctx.state.set("ticks", "count", (count or 0) + 1)
