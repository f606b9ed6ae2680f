"""The structural type of a client, for code that accepts "any iii client"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .options import ConnectionStateCallback


class IIIClient(Protocol):
    def register_trigger(self, trigger: Any) -> Any: ...

    def register_function(self, function_id: str, handler_or_invocation: Any) -> Any: ...

    def trigger(self, request: Any) -> Any: ...

    def register_trigger_type(self, trigger_type: Any, handler: Any) -> Any: ...

    def unregister_trigger_type(self, trigger_type: Any) -> None: ...

    def add_connection_state_listener(self, handler: ConnectionStateCallback) -> Callable[[], None]: ...

    def shutdown(self) -> None: ...
