"""Adapting user handlers (sync or async, with or without ``metadata``) to one shape.

Sync handlers run on the client's bounded thread pool: a thread per call would let a burst
of invocations create thousands of threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from typing import Any, Literal

from .formats import first_param_annotation, is_pydantic_model

#: What the client calls: ``await handler(data, metadata)``.
InvocationHandler = Callable[[Any, Any], Awaitable[Any]]
MetadataMode = Literal["positional", "keyword", "none"]


def metadata_mode(handler: Callable[..., Any]) -> MetadataMode:
    """Only a parameter literally named ``metadata`` receives the sidecar, so handlers
    with unrelated extra parameters keep their one-argument call shape."""
    try:
        params = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return "none"
    param = params.get("metadata")
    if param is None:
        return "none"
    if param.kind is inspect.Parameter.KEYWORD_ONLY:
        return "keyword"
    positional = [
        p
        for p in params.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) >= 2 and positional[1].name == "metadata":
        return "positional"
    return "none"


def is_async_callable(handler: Callable[..., Any]) -> bool:
    target: Any = handler
    while isinstance(target, functools.partial):
        target = target.func
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - async __call__ on instances
    )


def to_jsonable(result: Any) -> Any:
    dump = getattr(result, "model_dump", None)
    if callable(dump) and not isinstance(result, type):
        return dump(mode="json")
    return result


def wrap_handler(
    handler: Callable[..., Any], executor: Callable[[], Executor]
) -> InvocationHandler:
    """Build the ``(data, metadata)`` coroutine the client awaits for each invocation.

    ``executor`` is a getter so the pool is created lazily and owned by the client.
    """
    mode = metadata_mode(handler)
    annotation = first_param_annotation(handler)
    model: Any = annotation if is_pydantic_model(annotation) else None

    def call(data: Any, metadata: Any) -> Any:
        if model is not None and isinstance(data, dict):
            data = model.model_validate(data)
        if mode == "positional":
            return handler(data, metadata)
        if mode == "keyword":
            return handler(data, metadata=metadata)
        return handler(data)

    if is_async_callable(handler):
        if model is None and mode == "none":  # the common shape, decided once: one call less per invocation

            async def run_plain(data: Any, metadata: Any) -> Any:
                return to_jsonable(await handler(data))

            return run_plain

        async def run_async(data: Any, metadata: Any) -> Any:
            return to_jsonable(await call(data, metadata))

        return run_async

    async def run_sync(data: Any, metadata: Any) -> Any:
        loop = asyncio.get_running_loop()
        # Copy the context so the handler's own trigger()/Logger calls see this
        # invocation's trace context from the pool thread.
        ctx = contextvars.copy_context()
        result = await loop.run_in_executor(executor(), ctx.run, call, data, metadata)
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            result = await result
        return to_jsonable(result)

    return run_sync


class ThreadPerCall(Executor):
    """Runs each submitted call on a thread of its own: local calls of sync handlers nest (a handler
    calling its own worker's function, up to 64 deep), which a bounded pool could deadlock on."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the awaiting caller, never lost in the thread
                future.set_exception(exc)

        threading.Thread(target=run, name="pyiii-local-call", daemon=True).start()
        return future
