"""How the console calls engine functions: in-process when it is a built-in worker (here), over
the worker WebSocket when ``pyiii console`` runs against a remote engine (its SDK caller is in
:mod:`pyiii.console.standalone`, the one console module that uses pyiii.sdk). Both raise
:class:`CallFailed` with the engine's error code and message."""

from __future__ import annotations

from typing import Any, Protocol

DEFAULT_TIMEOUT_S = 30.0


class CallFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Caller(Protocol):
    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S, *,
                   namespace: str | None = None) -> Any:
        """``namespace``: where ``function_id`` runs (None: ``default``, as any caller's)."""
        ...

    async def close(self) -> None: ...


class InProcessCaller:
    """Calls through the engine core, like any built-in worker does."""

    def __init__(self, host: Any) -> None:
        self.host = host

    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S, *,
                   namespace: str | None = None) -> Any:
        from pyiii.core import FunctionError

        where = {} if namespace is None else {"namespace": namespace}
        try:
            return await self.host.call(function_id, payload, timeout=timeout, **where)
        except FunctionError as exc:
            raise CallFailed(exc.code, exc.message) from None

    async def close(self) -> None:
        return None

