"""What this worker has registered, kept in memory so every connection can replay it.

Each entry records the connection generation it was last sent on. All sends happen on the
event loop thread, so "send if not yet sent on this connection" makes replay and live
registration race-free: every registration reaches each connection exactly once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .handlers import InvocationHandler


@dataclass(eq=False)
class Registration:
    key: str
    frame: bytes
    #: Generation of the connection this frame was last sent on (0 = never).
    sent_on: int = 0
    #: Functions: the local handler (``None`` for HTTP-invoked functions).
    handler: InvocationHandler | None = None
    #: Trigger types: the provider's ``TriggerHandler``.
    provider: Any = None
    #: Triggers: their type, for the ``unregistertrigger`` hint.
    trigger_type: str | None = None
    #: Triggers: what the binding runs (and the step it belongs to), to name it in a refusal.
    function_id: str | None = None
    step: str | None = None
    #: Functions: the same handler for in-process calls (sync ones on a thread per call).
    local_handler: InvocationHandler | None = None
    #: Functions (0.25): engine confirmation, local dispatch and observers (owner.FunctionObservers).
    observe: Any = None


class Table:
    """One kind of registration (functions, trigger types or triggers)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._entries: dict[str, Registration] = {}

    def get(self, key: str) -> Registration | None:
        with self._lock:
            return self._entries.get(key)

    def add(self, entry: Registration, *, unique: bool = False) -> None:
        with self._lock:
            if unique and entry.key in self._entries:
                raise ValueError(f"function id '{entry.key}' already registered")
            self._entries[entry.key] = entry

    def remove(self, entry: Registration) -> bool:
        """Remove this exact entry (not a newer one registered under the same key)."""
        with self._lock:
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]
                return True
            return False

    def pop(self, key: str) -> Registration | None:
        with self._lock:
            return self._entries.pop(key, None)

    def is_current(self, entry: Registration) -> bool:
        with self._lock:
            return self._entries.get(entry.key) is entry

    def values(self) -> list[Registration]:
        with self._lock:
            return list(self._entries.values())


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.trigger_types = Table(self._lock)
        self.functions = Table(self._lock)
        self.triggers = Table(self._lock)

    def replay_order(self) -> list[Registration]:
        """Trigger types, then functions, then triggers (the official SDK's order)."""
        with self._lock:
            return [
                *self.trigger_types._entries.values(),
                *self.functions._entries.values(),
                *self.triggers._entries.values(),
            ]
