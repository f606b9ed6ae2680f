"""Install a Python runtime into its own virtualenv under ``tests/.cache`` (gitignored), once.

Published packages that cannot live next to pyiii's dev dependencies (a real ``motia``, another
``iii-sdk`` version: same import name) get a venv each. Installs are serialised with a file lock
(several pytest processes may start at once) and reused while their requirements are unchanged;
when pip cannot install (no network, no such version) the calling test skips with a loud reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parents[1] / ".cache"


def install_lock(folder: Path, name: str) -> int:
    """An exclusive lock on ``folder/<name>.lock``; close the returned fd to release it."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def python_venv(home: Path, requirements: list[str], what: str, pip_options: tuple[str, ...] = ()) -> Path:
    """The venv at ``home`` with ``requirements`` installed (``<home>/bin/python``).

    ``what`` names the runtime in the skip reason (``"MOTIA PYTHON RUNTIME"``); ``pip_options``
    go before the requirements (``--retries``, ``--timeout``)."""
    marker = home / ".installed"
    wanted = "\n".join(requirements)
    if marker.exists() and marker.read_text() == wanted:
        return home
    fd = install_lock(home.parent, home.name)
    try:
        if marker.exists() and marker.read_text() == wanted:
            return home
        shutil.rmtree(home, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        python = home / "bin" / "python"
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               *pip_options, *requirements], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            shutil.rmtree(home, ignore_errors=True)
            pytest.skip(f"{what} NOT INSTALLABLE ({' '.join(requirements)}): "
                        f"{(done.stderr or done.stdout).strip()[-800:]}")
        marker.write_text(wanted)
        return home
    finally:
        os.close(fd)
