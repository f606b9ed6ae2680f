"""GET /todos → every stored todo. A sync handler: the services block instead of awaiting."""

from typing import Any

from pyiii.steps import FlowContext, http

config = {"name": "ListTodos", "triggers": [http("GET", "/todos")], "flows": ["todos"]}


def handler(_request: Any, ctx: FlowContext) -> dict[str, Any]:
    todos = ctx.state.list("todos")
    return {"status": 200, "body": sorted(todos, key=lambda t: t["title"])}
