"""The pinned official Node ``iii-sdk`` for tests: installed once with ``npm ci`` from
``tests/interop/node/package-lock.json`` into ``tests/interop/node/node_modules`` (gitignored).

Every suite that drives the Node SDK goes through :func:`node_sdk_dir`, so a fresh machine
installs it on first use instead of skipping. Without node/npm the caller skips loudly."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.engine import REPO

NODE_DIR = REPO / "tests" / "interop" / "node"
NODE_MODULES = NODE_DIR / "node_modules"


def installed() -> bool:
    return (NODE_MODULES / "iii-sdk" / "package.json").exists()


def node_sdk_dir() -> Path:
    """The folder whose ``node_modules`` holds ``iii-sdk``; installs it if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("NODE/NPM NOT AVAILABLE: the Node iii-sdk tests cannot run on this machine")
    if installed():
        return NODE_DIR
    # One installer at a time (several pytest processes may start together).
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed():
            lockfile = NODE_DIR / "package-lock.json"
            cmd = [npm, "ci" if lockfile.exists() else "install", "--no-audit", "--no-fund", "--loglevel=error"]
            proc = subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True, timeout=300)
            if proc.returncode != 0 or not installed():
                pytest.fail(f"`{' '.join(cmd)}` failed in {NODE_DIR}:\n{proc.stdout}\n{proc.stderr}")
    return NODE_DIR
