"""Runs one command so that it cannot outlive the engine, even after ``kill -9`` of the engine.

Started by the exec worker as ``python guard.py ARGV...`` in a new process group. The kernel
sends this process SIGTERM when the engine dies (PR_SET_PDEATHSIG); it then stops its whole
process group, grandchildren included. Kept free of pyiii imports so it starts fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


def group_members() -> list[int]:
    """Other processes in our process group (Linux /proc; empty elsewhere)."""
    me, group = os.getpid(), os.getpgid(0)
    members: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            # fields[0] is the state, fields[2] the process group id; skip zombies.
            if int(fields[2]) == group and fields[0] != b"Z":
                members.append(int(entry))
    return members


def stop_group(grace: float) -> None:
    """SIGTERM everyone else in the group, SIGKILL whoever is left after ``grace``."""
    for pid in group_members():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_members():
        time.sleep(0.05)
    for pid in group_members():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def on_term(signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stop_group(float(os.environ.get("PYIII_EXEC_GRACE", "3")))
    os._exit(128 + signum)


def main(argv: list[str]) -> int:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = int(os.environ.get("PYIII_EXEC_PARENT", "0"))
    if parent and os.getppid() != parent:
        return 1  # the engine died before the death signal was armed
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    code = subprocess.Popen(argv).wait()
    stop_group(1.0)  # the command is done: take down anything it left running
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
