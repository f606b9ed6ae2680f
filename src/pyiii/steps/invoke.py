"""Calling user code the way it was written: 0, 1 or 2 parameters, sync or async.

Sync functions run on a worker thread (``asyncio.to_thread`` copies the context, so the trace
of the invocation follows them), where the services block; async ones run on the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pyiii.steps.calls import on_event_loop


@functools.lru_cache(maxsize=4096)
def arity(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` takes (``*args`` counts as "all")."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    count = 0
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return 99
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def is_async(fn: Callable[..., Any]) -> bool:
    target: Any = fn
    while isinstance(target, functools.partial):
        target = target.func
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(getattr(target, "__call__", None))  # noqa: B004


async def invoke(fn: Callable[..., Any], args: Sequence[Any]) -> Any:
    """Call ``fn`` with as many of ``args`` as it accepts; await whatever it returns."""
    used = tuple(args[: arity(fn)])
    if is_async(fn):
        result = await fn(*used)
    else:
        result = await asyncio.to_thread(fn, *used)
    while inspect.isawaitable(result):
        result = await result
    return result


async def run_middleware(
    middleware: Sequence[Callable[..., Any]], request: Any, ctx: Any, final: Callable[[], Awaitable[Any]]
) -> Any:
    """``m(request, ctx, next)``, first is outermost. ``next()`` is awaitable in async
    middleware and returns the response directly in sync middleware."""
    loop = asyncio.get_running_loop()

    async def step(i: int) -> Any:
        if i == len(middleware):
            return await final()

        def next_() -> Any:
            if on_event_loop():
                return asyncio.ensure_future(step(i + 1))
            return asyncio.run_coroutine_threadsafe(step(i + 1), loop).result()

        return await invoke(middleware[i], (request, ctx, next_))

    return await step(0)
