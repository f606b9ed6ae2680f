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


#: What a guard middleware's ``False`` answers (Motia's docs: ``{status: 401, body: {error: 'Unauthorized'}}``).
DENIED = {"status_code": 401, "headers": {}, "body": {"error": "Unauthorized"}}


async def run_middleware(
    middleware: Sequence[Callable[..., Any]], request: Any, ctx: Any, final: Callable[[], Awaitable[Any]]
) -> Any:
    """Run ``middleware`` around ``final``; first is outermost. Two forms:

    * ``m(request, ctx, next)``: ``next()`` is awaitable in async middleware and returns the
      response directly in sync middleware; returning without calling it short-circuits.
    * a guard ``m(request)`` / ``m(request, ctx)`` returning a bool: ``True`` goes on, ``False``
      answers 401 ``{"error": "Unauthorized"}`` and the handler never runs.

    A 3-parameter middleware that returns a bool is read the same way (``True`` without having
    called ``next()`` goes on). Returning nothing without calling ``next()`` is an error (500),
    never a silent pass.
    """
    loop = asyncio.get_running_loop()

    async def step(i: int) -> Any:
        if i == len(middleware):
            return await final()
        called: list[Any] = []

        def next_() -> Any:
            if on_event_loop():
                task = asyncio.ensure_future(step(i + 1))
                called.append(task)
                return task
            result = asyncio.run_coroutine_threadsafe(step(i + 1), loop).result()
            called.append(result)
            return result

        result = await invoke(middleware[i], (request, ctx, next_))
        if result is True:
            return await _outcome(called[0]) if called else await step(i + 1)
        if result is False:
            return dict(DENIED)
        if result is None:
            if called:
                return await _outcome(called[0])
            name = getattr(middleware[i], "__name__", repr(middleware[i]))
            raise RuntimeError(f"middleware {name} returned nothing and did not call next()")
        return result

    return await step(0)


async def _outcome(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
