"""Every 5 minutes → count the todos into state ``todo-stats/latest`` (a cron step)."""

from pyiii.steps import FlowContext, cron

config = {
    "name": "TodoStats",
    "description": "Count the stored todos",
    "triggers": [cron("0 */5 * * * *")],
    "flows": ["todos"],
}


async def handler(ctx: FlowContext) -> None:
    todos = await ctx.state.list("todos")
    await ctx.state.set("todo-stats", "latest", {"count": len(todos)})
    ctx.logger.info("todos counted", {"count": len(todos)})
