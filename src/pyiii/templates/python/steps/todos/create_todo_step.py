"""POST /todos → validate the body → enqueue ``todo.created`` → 202 with the new id."""

import uuid

from pyiii.steps import ApiRequest, ApiResponse, FlowContext, http

from .models import NewTodo

config = {
    "name": "CreateTodo",
    "description": "Accept a todo and hand it to the queue",
    "triggers": [http("POST", "/todos", body_schema=NewTodo)],
    "enqueues": ["todo.created"],
    "flows": ["todos"],
}


async def handler(request: ApiRequest[NewTodo], ctx: FlowContext) -> ApiResponse[dict[str, str]]:
    todo_id = uuid.uuid4().hex[:8]
    await ctx.enqueue({"topic": "todo.created", "data": {"id": todo_id, "title": request.body.title}})
    ctx.logger.info("todo accepted", {"id": todo_id})
    return ApiResponse(202, {"id": todo_id})
