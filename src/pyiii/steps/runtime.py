"""The connection the Steps framework talks through.

Module-level services (``logger``, ``enqueue``, ``stateManager``, ``Stream``) and every
``ctx`` service use the client installed here by the runner, so a step module can import them
at load time, before any connection exists.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any

from pyiii.sdk import III

#: The step whose handler (or condition) is running: module-level services name it.
current_step: ContextVar[str | None] = ContextVar("pyiii_current_step", default=None)

_lock = threading.Lock()
_client: III | None = None


def install(client: III | None) -> None:
    global _client
    with _lock:
        _client = client


def client() -> III:
    """The running steps worker's client; a clear error outside ``pyiii dev/start``."""
    current = _client
    if current is None:
        raise RuntimeError(
            "pyiii.steps is not connected to an engine: run the project with `pyiii dev` or `pyiii start` "
            "(or call pyiii.steps.steps_runner.StepsRunner(...).start() yourself)"
        )
    return current


def maybe_client() -> Any:
    return _client
