"""Calls this worker made and is waiting on, keyed by invocation id."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .errors import InvocationError, error_from_wire


@dataclass(frozen=True)
class _Pending:
    future: asyncio.Future[Any]
    function_id: str


class PendingCalls:
    """Only touched from the client's event loop thread."""

    def __init__(self) -> None:
        self._calls: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, invocation_id: str, function_id: str) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[invocation_id] = _Pending(future, function_id)
        return future

    def drop(self, invocation_id: str) -> None:
        self._calls.pop(invocation_id, None)

    def resolve(self, invocation_id: str, result: Any, error: Any) -> bool:
        """Complete a call; unknown or already-timed-out ids are ignored (spec §3.10)."""
        pending = self._calls.pop(invocation_id, None)
        if pending is None or pending.future.done():
            return False
        if error is not None:
            pending.future.set_exception(
                error_from_wire(error, function_id=pending.function_id, invocation_id=invocation_id)
            )
        else:
            pending.future.set_result(result)
        return True

    def fail_all(self, code: str, message: str) -> None:
        calls, self._calls = self._calls, {}
        for invocation_id, pending in calls.items():
            if not pending.future.done():
                pending.future.set_exception(
                    InvocationError(code, message, function_id=pending.function_id, invocation_id=invocation_id)
                )
