"""The official Python ``iii-sdk`` releases, each in its own venv under ``tests/.cache/sdks``.

Every version imports as ``iii``, so only the one pinned in pyproject (the dev dependency) can be
imported by the test process; the others run in ``tests/interop/py_driver.py`` with their own
interpreter. Installed once per requirement (``tests/support/cached_venv.py``); a version pip
cannot install (offline, yanked) makes the test skip loudly.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from tests.support.cached_venv import CACHE, python_venv

SDK_CACHE = CACHE / "sdks"

#: The versions the SDK matrix runs: the dev pin (the control) and the 0.23 → 0.25 generation.
MATRIX = ("0.22.1", "0.23.0", "0.24.6", "0.25.0")

#: What each version is installed with. ``iii-helpers`` carries the reconnection config and, from
#: 0.25, the hook/auth models; it is released in step with the SDK.
REQUIREMENTS: dict[str, list[str]] = {version: [f"iii-sdk=={version}"] for version in MATRIX}
REQUIREMENTS["0.25.0"] = ["iii-sdk==0.25.0", "iii-helpers==0.25.0"]


def _dev_pin() -> str | None:
    try:
        return importlib.metadata.version("iii-sdk")
    except importlib.metadata.PackageNotFoundError:
        return None


#: Give up quickly when PyPI is unreachable (pip's defaults retry for over a minute per version).
PIP_OPTIONS = ("--retries", "1", "--timeout", "15")

#: version -> why it could not be installed, so that one failed install skips every later test of
#: that version at once instead of trying again.
_unavailable: dict[str, str] = {}


def official_sdk_python(version: str) -> Path:
    """An interpreter that imports ``iii`` at ``version``: the test process's own for the dev pin,
    else ``tests/.cache/sdks/<version>/bin/python`` (installed if needed, or skip)."""
    if version == _dev_pin():
        return Path(sys.executable)
    if version in _unavailable:
        pytest.skip(_unavailable[version])
    requirements = REQUIREMENTS.get(version, [f"iii-sdk=={version}"])
    try:
        home = python_venv(SDK_CACHE / version, requirements, f"OFFICIAL PYTHON iii-sdk {version}", PIP_OPTIONS)
    except pytest.skip.Exception as skipped:
        _unavailable[version] = str(skipped.msg)
        raise
    return home / "bin" / "python"
