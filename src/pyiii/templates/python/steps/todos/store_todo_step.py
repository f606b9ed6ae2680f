"""Queue ``todo.created`` → state ``todos/<id>`` → stream ``todos/all`` (live clients see it)."""

from pyiii.steps import FlowContext, queue

from .models import Todo

config = {
    "name": "StoreTodo",
    "triggers": [queue("todo.created", input=Todo, config={"maxRetries": 3, "backoffDelayMs": 200})],
    "flows": ["todos"],
}


async def handler(todo: Todo, ctx: FlowContext) -> None:
    await ctx.state.set("todos", todo.id, todo)
    await ctx.streams["todos"].set("all", todo.id, todo)
    ctx.logger.info("todo stored", {"id": todo.id})
