"""A worker's namespace and the namespace of each call and binding, as iii-sdk 0.23+ sends
them (spec iii-0.23-0.25 §1.3, §1.4)."""

from __future__ import annotations

import os
from typing import Final

from .options import InitOptions

#: Ids the SDK always calls in ``default`` unless the call names a namespace (0.24+).
_ENGINE_PREFIXES: Final = ("engine::", "configuration::")


def worker_namespace(options: InitOptions) -> str | None:
    """``InitOptions.namespace`` (blank: ValueError at start) > env ``III_NAMESPACE`` (blank:
    unset) > none (the worker is in ``default`` and says nothing, as 0.22.1)."""
    if options.namespace is not None:
        if not options.namespace.strip():
            raise ValueError("InitOptions.namespace is blank: give it a name, or leave it None for 'default'")
        return options.namespace
    env = os.environ.get("III_NAMESPACE", "")
    return env if env.strip() else None


def call_namespace(function_id: str, requested: str | None, worker: str | None) -> str | None:
    """The request's own > ``default`` for the engine's functions > the worker's > none."""
    if requested is not None:
        return requested
    if function_id.startswith(_ENGINE_PREFIXES):
        return "default" if worker is not None else None
    return worker
