"""Which WebSocket library carries the frames: picows (compiled, the default when importable)
or websockets, chosen with ``PYIII_WS_BACKEND=picows|websockets`` (read when a server starts
or a client connects, so a test can switch it per process)."""

from __future__ import annotations

import importlib.util
import os

BACKENDS = ("picows", "websockets")
ENV_VAR = "PYIII_WS_BACKEND"


def backend_name() -> str:
    wanted = os.environ.get(ENV_VAR, "").strip().lower()
    if wanted:
        if wanted not in BACKENDS:
            raise ValueError(f"{ENV_VAR}={wanted!r}: expected one of {', '.join(BACKENDS)}")
        return wanted
    return "picows" if importlib.util.find_spec("picows") is not None else "websockets"
