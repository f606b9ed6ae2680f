"""Trigger helpers for step configs: ``triggers=[http("POST", "/orders"), queue("order.created")]``.

Each returns the plain-dict form (the same dict a step may write by hand), so configs stay
printable and helpers and dicts mix freely.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")

Condition = Callable[..., Any]


def _with(base: dict[str, Any], **optional: Any) -> dict[str, Any]:
    base.update({k: v for k, v in optional.items() if v is not None})
    return base


def http(
    method: str,
    path: str,
    *,
    body_schema: Any = None,
    response_schema: dict[int, Any] | None = None,
    query_params: Sequence[dict[str, Any] | str] | None = None,
    middleware: Sequence[Callable[..., Any]] | None = None,
    condition: Condition | None = None,
) -> dict[str, Any]:
    """An HTTP route. ``path`` may hold ``:param`` segments; ``middleware`` items are
    ``m(request, ctx, next)`` (first is outermost)."""
    upper = method.upper()
    if upper not in HTTP_METHODS:
        raise ValueError(f"unsupported HTTP method {method!r}; use one of {', '.join(HTTP_METHODS)}")
    return _with(
        {"type": "http", "method": upper, "path": path},
        bodySchema=body_schema,
        responseSchema=response_schema,
        queryParams=list(query_params) if query_params is not None else None,
        middleware=list(middleware) if middleware is not None else None,
        condition=condition,
    )


def api(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Deprecated alias of :func:`http` (Motia 1.0)."""
    warnings.warn("api() is deprecated; use http()", DeprecationWarning, stacklevel=2)
    return http(*args, **kwargs)


def queue(
    topic: str, *, input: Any = None, config: dict[str, Any] | None = None, condition: Condition | None = None
) -> dict[str, Any]:
    """A durable subscription to ``topic``. ``config`` keys (camel or snake case): ``type``
    (standard|fifo), ``maxRetries``, ``backoffDelayMs``, ``concurrency``, ``visibilityTimeout``,
    ``delaySeconds``, ``backoffType``."""
    return _with({"type": "queue", "topic": topic}, input=input, config=config, condition=condition)


def cron(expression: str, *, condition: Condition | None = None, timezone: str | None = None) -> dict[str, Any]:
    """A schedule: 6 fields (``sec min hour dom month dow``) or 7 (with year); a classic
    5-field crontab expression gets ``0`` seconds prepended."""
    return _with({"type": "cron", "expression": expression}, condition=condition, timezone=timezone)


def state(*, scope: str | None = None, key: str | None = None, condition: Condition | None = None) -> dict[str, Any]:
    """Fires on every state set/update/delete (optionally only for ``scope``/``key``)."""
    return _with({"type": "state"}, scope=scope, key=key, condition=condition)


def stream(
    stream_name: str, *, group_id: str | None = None, item_id: str | None = None, condition: Condition | None = None
) -> dict[str, Any]:
    """Fires on every change (and custom event) of a stream, optionally one group/item."""
    return _with({"type": "stream", "streamName": stream_name}, groupId=group_id, itemId=item_id, condition=condition)
