"""Start and stop one guarded command (see guard.py) as its own process group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

GUARD = str(Path(__file__).with_name("guard.py"))


def argv_of(command: str | list[str]) -> list[str]:
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


async def spawn(command: str | list[str], cwd: str, env: dict[str, str], grace_s: float) -> asyncio.subprocess.Process:
    child_env = {**env, "PYIII_EXEC_PARENT": str(os.getpid()), "PYIII_EXEC_GRACE": str(grace_s)}
    return await asyncio.create_subprocess_exec(
        sys.executable, GUARD, *argv_of(command), cwd=cwd, env=child_env, start_new_session=True
    )


async def stop(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace_s``."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace_s + 1)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
