"""A project's ``motia_config.py`` (the Python counterpart of Motia's ``motia.config.ts``).

Only ``authenticate_stream(request, ctx)`` (also spelled ``authenticateStream``) is read: the
stream auth hook, registered as ``motia::stream::authenticate`` like Motia's
``set_authenticate``. Name that id in iii-stream's ``auth_function`` to use it. Read when the
project loads (not hot-reloaded: the watcher watches the step folders, not the project root).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyiii.steps.discovery import StepLoadError, import_file, rel

FILE_NAME = "motia_config.py"


def load_stream_auth(project: Path) -> Callable[..., Any] | None:
    """The project's global stream auth hook, ``None`` without the file or the function."""
    path = project / FILE_NAME
    if not path.is_file():
        return None
    try:
        module = import_file(project, path)
    except Exception as exc:
        raise StepLoadError(f"{rel(project, path)}: import failed: {type(exc).__name__}: {exc}") from exc
    hook = getattr(module, "authenticate_stream", None) or getattr(module, "authenticateStream", None)
    if hook is not None and not callable(hook):
        raise StepLoadError(f"{rel(project, path)}: `authenticate_stream` is not callable")
    return hook
