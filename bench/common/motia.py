"""The motia 0.17 peer of B1: a one-step TypeScript project (``bench/baselines/motia/``, a POST
``/echo`` API step) run with ``motia start`` on the local Redis.

The template (package.json with the exact motia version and the plugins ``motia start`` would
otherwise add, its lock file, motia.config.ts, the step) is copied to ``bench/.cache/motia`` and
installed there with ``npm ci`` once (file-locked; again when the lock file changes).
``REDISMS_DISABLE_POSTINSTALL`` stops redis-memory-server from downloading a Redis build at
install time (not reachable offline); ``MOTIA_DISABLE_MEMORY_SERVER`` makes motia use the local
Redis instead of one it starts itself.
"""

from __future__ import annotations

import fcntl
import filecmp
import os
import shutil
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = BENCH_DIR / "baselines" / "motia"
WORKDIR = BENCH_DIR / ".cache" / "motia"
VERSION = "0.17.4-beta.185"


def available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_installed() -> Path:
    """The project directory, installed; raises RuntimeError with npm's output if it cannot be."""
    WORKDIR.mkdir(parents=True, exist_ok=True)
    with (WORKDIR.parent / "motia.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("package.json", "package-lock.json", "motia.config.ts"):
            shutil.copyfile(TEMPLATE / name, WORKDIR / name)
        shutil.copytree(TEMPLATE / "steps", WORKDIR / "steps", dirs_exist_ok=True)
        marker = WORKDIR / "node_modules" / ".bench-installed-lock.json"
        if not (marker.exists() and filecmp.cmp(marker, TEMPLATE / "package-lock.json", shallow=False)):
            env = {**os.environ, "REDISMS_DISABLE_POSTINSTALL": "1"}
            out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WORKDIR, env=env,
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"npm ci of motia {VERSION} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
            shutil.copyfile(TEMPLATE / "package-lock.json", marker)
    return WORKDIR


def command(port: int) -> list[str]:
    return ["node", str(WORKDIR / "node_modules" / "motia" / "dist" / "cli.mjs"), "start", "-p", str(port), "-v"]


def environment(redis_host: str = "127.0.0.1", redis_port: int = 6379) -> dict[str, str]:
    return {**os.environ, "MOTIA_DISABLE_MEMORY_SERVER": "true", "MOTIA_ANALYTICS_DISABLED": "true",
            "MOTIA_DOCKER_DISABLE_WORKBENCH": "true", "MOTIA_REDIS_HOST": redis_host,
            "MOTIA_REDIS_PORT": str(redis_port)}
