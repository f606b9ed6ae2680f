"""Tracebacks start at the user's code: leading frames of pyiii and the standard library go; a
traceback with no user frame (a bug in pyiii) and PYIII_FULL_TRACEBACKS=1 keep everything."""

from __future__ import annotations

import asyncio
import traceback
from pathlib import Path

import pytest

from pyiii.sdk import frames
from pyiii.steps.invoke import invoke

USER = Path(__file__).resolve()


def user_handler(_request: object, _ctx: object) -> None:
    raise ValueError("kaboom")


def failure(fn: object) -> BaseException:
    try:
        asyncio.run(invoke(fn, (None, None)))  # type: ignore[arg-type]
    except ValueError as exc:
        return exc
    raise AssertionError("no failure")


def files(text: str) -> list[str]:
    return [line.split('"')[1] for line in text.splitlines() if line.strip().startswith("File ")]


def test_framework_frames_before_the_users_are_trimmed() -> None:
    exc = failure(user_handler)  # sync: through pyiii's invoke, asyncio.to_thread and the thread pool
    full = files("".join(traceback.format_exception(exc)))
    assert any("/pyiii/" in f for f in full) and any("concurrent" in f or "asyncio" in f for f in full)
    # As the SDK sees it: caught in its own frame, below this test's (skip the test's frame here).
    assert exc.__traceback__ is not None
    below_test = frames.user_traceback(exc.__traceback__.tb_next)
    text = "".join(traceback.format_exception(type(exc), exc, below_test))
    assert files(text) == [str(USER)] and "in user_handler" in text


def test_a_traceback_without_user_frames_is_kept_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        frames.exc_info(None)  # type: ignore[arg-type]  # fails inside pyiii itself
    except AttributeError as exc:
        tb = exc.__traceback__
        assert tb is not None
        inner = tb.tb_next  # the frame in frames.py: no user frame after it
        assert frames.user_traceback(inner) is inner
    exc = failure(user_handler)
    monkeypatch.setenv("PYIII_FULL_TRACEBACKS", "1")
    assert frames.user_traceback(exc.__traceback__) is exc.__traceback__
