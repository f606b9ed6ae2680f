"""The worker metadata sent to ``engine::workers::register`` on every connect (§9.1)."""

from __future__ import annotations

import os
import platform
from typing import Any

from .._version import __version__
from .features import SDK_FEATURES
from .namespaces import worker_namespace
from .options import InitOptions


def pyiii_version() -> str:
    return __version__


def default_worker_name() -> str:
    return f"{platform.node()}:{os.getpid()}"


def worker_name(options: InitOptions, default: str | None = None) -> str:
    # III_WORKER_NAME is how managed workers learn their configured name.
    return options.worker_name or os.environ.get("III_WORKER_NAME") or default or default_worker_name()


def _project_name() -> str | None:
    cwd = os.getcwd()
    manifest = os.path.join(cwd, "pyproject.toml")
    if os.path.isfile(manifest):
        try:
            import tomllib

            with open(manifest, "rb") as fh:
                name = tomllib.load(fh).get("project", {}).get("name")
            if isinstance(name, str) and name.strip():
                return name.strip()
        except (OSError, ValueError):  # unreadable or invalid TOML: use the folder name
            pass
    return os.path.basename(cwd) or None


def worker_metadata(options: InitOptions, default_name: str | None = None) -> dict[str, Any]:
    telemetry = options.telemetry
    metadata: dict[str, Any] = {
        "runtime": "python",
        "version": pyiii_version(),
        "name": worker_name(options, default_name),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "pid": os.getpid(),
        "isolation": os.environ.get("III_ISOLATION") or None,
        "telemetry": {
            "language": (telemetry and telemetry.language)
            or os.environ.get("LANG", "").split(".")[0]
            or None,
            "project_name": (telemetry and telemetry.project_name) or _project_name(),
            "framework": (telemetry and telemetry.framework) or "pyiii",
            "amplitude_api_key": telemetry.amplitude_api_key if telemetry else None,
        },
    }
    if options.worker_description:
        metadata["description"] = options.worker_description
    # 0.25: what this SDK supports; the engine answers with functionregistered & co (spec §2).
    metadata["features"] = list(SDK_FEATURES)
    namespace = worker_namespace(options)
    if namespace is not None:
        # Only when set: without the key the engine treats the worker as 0.22.1 (no
        # one-worker-per-name rule, last writer wins; docs/compatibility.md D1/D2).
        metadata["namespace"] = namespace
    return metadata
