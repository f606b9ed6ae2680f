"""One function call usable from both sync and async step code.

Step handlers come in both flavours (Motia G1/G2a await the services, G2b calls them
synchronously). Sync handlers run on a worker thread with no event loop, where a blocking
call is fine; async handlers run on an event loop, where blocking would deadlock. So a
service call looks at the calling thread: with no running loop it blocks and returns the
value; on a loop it starts the call at once and returns the task, which the caller awaits.
Starting eagerly means a forgotten ``await`` still performs the write, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyiii.sdk import TriggerAction
from pyiii.steps import runtime


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call(function_id: str, payload: Any, *, void: bool = False) -> Any:
    """Invoke ``function_id``: the result (no loop) or an awaitable task (on a loop)."""
    client = runtime.client()
    request: dict[str, Any] = {"function_id": function_id, "payload": payload}
    if void:
        request["action"] = TriggerAction.Void()
    if on_event_loop():
        return asyncio.ensure_future(client.trigger_async(request))
    return client.trigger(request)


def then(value: Any, transform: Any) -> Any:
    """Apply ``transform`` to a :func:`call` result, keeping it awaitable if it was."""
    if isinstance(value, asyncio.Future):

        async def finish() -> Any:
            return transform(await value)

        return asyncio.ensure_future(finish())
    return transform(value)


def resolved(value: Any) -> Any:
    """A plain value in the same shape :func:`call` would give (awaitable on a loop)."""
    if on_event_loop():
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(value)
        return future
    return value
