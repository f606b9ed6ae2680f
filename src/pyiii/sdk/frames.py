"""Tracebacks that start at the user's code.

A handler that raises is reached through 4-5 frames of pyiii's own (the SDK's dispatch, the
Steps adapters, the invoker) and, for sync handlers, the standard library's thread pool. They
say nothing to the person whose code failed, so the traceback logged and sent back starts at
the first frame outside pyiii and the standard library. A traceback with no such frame (a bug
in pyiii itself) is kept whole, and ``PYIII_FULL_TRACEBACKS=1`` keeps every traceback whole.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType

_OWN = (str(Path(__file__).resolve().parents[1]) + os.sep,)
_STDLIB = tuple(
    str(Path(p).resolve()) + os.sep for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)


def _framework(filename: str) -> bool:
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    if "site-packages" in path or "dist-packages" in path:
        return path.startswith(_OWN)
    return path.startswith(_OWN) or path.startswith(_STDLIB)


def user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` without its leading framework frames, if a user frame follows them."""
    if os.environ.get("PYIII_FULL_TRACEBACKS", "") not in ("", "0"):
        return tb
    node = tb
    while node is not None:
        if not _framework(node.tb_frame.f_code.co_filename):
            return node
        node = node.tb_next
    return tb


def exc_info(exc: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """For ``log.error(..., exc_info=exc_info(exc))``: the trimmed traceback."""
    return type(exc), exc, user_traceback(exc.__traceback__)


def format_exception(exc: BaseException) -> str:
    """The trimmed traceback as text (what a failed invocation sends back as ``stacktrace``)."""
    return "".join(traceback.format_exception(type(exc), exc, user_traceback(exc.__traceback__)))
