"""How the console calls engine functions: in-process when it is a built-in worker, over the
worker WebSocket (pyiii.sdk) when it runs against a remote engine. Both raise
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
    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Any: ...

    async def close(self) -> None: ...


class InProcessCaller:
    """Calls through the engine core, like any built-in worker does."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
        from pyiii.core.errors import FunctionError

        try:
            return await self.engine.call(function_id, payload, timeout=timeout)
        except FunctionError as exc:
            raise CallFailed(exc.code, exc.message) from None

    async def close(self) -> None:
        return None


class SdkCaller:
    """A worker named ``iii-console`` connected with pyiii.sdk (the engine lists it)."""

    def __init__(self, url: str) -> None:
        from pyiii.sdk import InitOptions, register_worker

        self.client = register_worker(url, InitOptions(worker_name="iii-console"))

    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
        from pyiii.sdk import InvocationError

        request = {"function_id": function_id, "payload": payload, "timeout_ms": int(timeout * 1000)}
        try:
            return await self.client.trigger_async(request)
        except InvocationError as exc:
            raise CallFailed(str(exc.code), str(exc.message)) from None

    async def close(self) -> None:
        await self.client.shutdown_async()
