"""Motia's middleware forms: ``(request, ctx, next)`` and a guard returning a bool."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyiii.steps.invoke import DENIED, run_middleware


def run(middleware: list[Any]) -> tuple[Any, list[str]]:
    ran: list[str] = []

    async def final() -> Any:
        ran.append("handler")
        return {"status_code": 200, "body": "ok"}

    return asyncio.run(run_middleware(middleware, {"headers": {}}, object(), final)), ran


def test_guard_false_is_401_and_the_handler_never_runs() -> None:
    def require_auth(request: Any) -> bool:
        return False

    assert run([require_auth]) == (DENIED, [])
    assert DENIED["status_code"] == 401


def test_guard_true_goes_on() -> None:
    async def require_auth(request: Any, ctx: Any) -> bool:
        return True

    assert run([require_auth]) == ({"status_code": 200, "body": "ok"}, ["handler"])


def test_next_form_short_circuits_or_wraps() -> None:
    async def deny(request: Any, ctx: Any, next: Any) -> Any:
        return {"status": 403, "body": {"error": "Forbidden"}}

    async def wrap(request: Any, ctx: Any, next: Any) -> Any:
        response = await next()
        return {**response, "headers": {"x-wrapped": "1"}}

    def sync_wrap(request: Any, ctx: Any, next: Any) -> Any:
        return next()

    assert run([deny]) == ({"status": 403, "body": {"error": "Forbidden"}}, [])
    assert run([wrap, sync_wrap]) == ({"status_code": 200, "body": "ok", "headers": {"x-wrapped": "1"}}, ["handler"])


def test_next_called_once_even_when_the_middleware_also_returns_true() -> None:
    async def both(request: Any, ctx: Any, next: Any) -> bool:
        await next()
        return True

    assert run([both]) == ({"status_code": 200, "body": "ok"}, ["handler"])


def test_nothing_returned_without_next_is_an_error_not_a_pass() -> None:
    def forgetful(request: Any, ctx: Any, next: Any) -> None:
        return None

    with pytest.raises(RuntimeError, match="did not call next"):
        run([forgetful])
