"""The published Motia 1.0 runtimes, installed once into ``tests/.cache/motia`` (gitignored).

Each Python runtime gets its *own* virtualenv there (never pyiii's: a real ``motia`` next to
pyiii would shadow pyiii's ``from motia import`` shim in every other test); the Node runtime is
``npm ci`` of ``node_runtime/package-lock.json`` (``motia`` 1.0.4-rc.1 and the ``iii-sdk`` 0.9.0
it pins). Installs are serialised with a file lock (several pytest processes may start at once)
and reused while their requirements are unchanged (the Python ones by
``tests/support/cached_venv.py``). When pip or npm cannot install (no network, no node), the test
skips with a loud reason.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cached_venv import CACHE as TESTS_CACHE
from tests.support.cached_venv import install_lock, python_venv

CACHE = TESTS_CACHE / "motia"
NODE_TEMPLATE = Path(__file__).resolve().parent / "node_runtime"
NODE_DIR = CACHE / "node"

#: name -> pip requirements of that runtime's venv.
PYTHON_RUNTIMES: dict[str, list[str]] = {
    # What `motia create` wrote into a Motia 1.0 Python project's pyproject.toml (spec §B.1); pydantic
    # < 2.14 because rc24's loader fails on 2.14 (spec/steps-and-console.md §0.3).
    "rc24": ["motia==1.0.0rc24", "iii-sdk==0.2.0", "pydantic<2.14"],
    # Motia 1.0.3 (standalone awaited services); iii-sdk 0.8.3 is the SDK it works with (spec §B.1).
    "1.0.3rc1": ["motia==1.0.3rc1", "iii-sdk==0.8.3", "pydantic<2.14"],
    # The newest 1.0.x on PyPI. It pins no iii-sdk, so pip takes the newest one, with which
    # `import motia` fails (`iii.Logger` is gone): the install a user gets today.
    "1.0.4rc1": ["motia==1.0.4rc1"],
    # `uv` itself, for the template's own command `uv run motia run --dir steps`.
    "uv": ["uv"],
}
NODE_VERSION = "1.0.4-rc.1"


def _lock(name: str) -> int:
    return install_lock(CACHE, name)


def python_runtime(name: str) -> Path:
    """The venv of runtime ``name`` (``<venv>/bin/motia`` is its CLI), installed if needed."""
    return python_venv(CACHE / f"py-{name}", PYTHON_RUNTIMES[name], "MOTIA PYTHON RUNTIME")


def node_runtime() -> Path:
    """The folder whose ``node_modules`` holds motia (and ``.bin/motia``), installed if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("NODE/NPM NOT AVAILABLE: the Motia Node runtime tests cannot run on this machine")
    lockfile = NODE_TEMPLATE / "package-lock.json"
    marker = NODE_DIR / "node_modules" / ".pyiii-installed-lock.json"

    def current() -> bool:
        return marker.exists() and filecmp.cmp(marker, lockfile, shallow=False)

    if current():
        return NODE_DIR
    fd = _lock("node")
    try:
        if current():
            return NODE_DIR
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE_TEMPLATE / name, NODE_DIR / name)
        # As bench/common/motia.py: nothing may download at install time (offline machines).
        env = {**os.environ, "REDISMS_DISABLE_POSTINSTALL": "1", "MOTIA_DISABLE_MEMORY_SERVER": "true"}
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, env=env,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.skip(f"MOTIA NODE RUNTIME NOT INSTALLABLE (motia {NODE_VERSION}): "
                        f"{(done.stderr or done.stdout).strip()[-800:]}")
        shutil.copyfile(lockfile, marker)
        return NODE_DIR
    finally:
        os.close(fd)


def link_node_modules(project: Path) -> None:
    """Give an app folder the installed Node runtime (``npx motia`` finds ``node_modules/.bin``)."""
    (project / "node_modules").symlink_to(node_runtime() / "node_modules")



