"""Every built-in worker pyiii ships, collected from the manifests the workers declare.

A worker's package holds its :class:`~pyiii.workers.manifest.WorkerManifest` in ``__init__.py``
(next to nothing else), so this module learns every kind, flag, alias, trigger type and start rank
without importing a worker: one that is not configured costs nothing at start-up. Adding a worker
is adding its package; nothing here names it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Final

import pyiii.workers
from pyiii.workers.base import BuiltinWorker
from pyiii.workers.manifest import WorkerManifest

#: Manifests that live outside ``pyiii/workers/`` (imported by name: not dependencies of this layer).
OUTSIDE: Final = ("pyiii.console", "pyiii.transport.manifest")


def collect() -> list[WorkerManifest]:
    """Every manifest, in start order (ties by kind)."""
    names = [f"pyiii.workers.{m.name}" for m in pkgutil.iter_modules(pyiii.workers.__path__) if m.ispkg]
    found = [getattr(importlib.import_module(name), "MANIFEST", None) for name in [*names, *OUTSIDE]]
    manifests = [m for m in found if isinstance(m, WorkerManifest)]
    return sorted(manifests, key=lambda m: (m.start_rank, m.kind))


#: canonical name -> manifest, in start order.
MANIFESTS: Final[dict[str, WorkerManifest]] = {m.kind: m for m in collect()}
#: canonical name -> "module:Class", in start order.
BUILTINS: Final[dict[str, str]] = {kind: m.worker for kind, m in MANIFESTS.items()}
MANDATORY: Final[frozenset[str]] = frozenset(k for k, m in MANIFESTS.items() if m.mandatory)
NEEDS_CONFIG: Final[frozenset[str]] = frozenset(k for k, m in MANIFESTS.items() if m.needs_config)
#: Trigger type -> the built-in worker that provides it (``steps`` and SDK workers bind these; the
#: engine names the worker to add when a binding waits for a missing one).
TRIGGER_TYPES: Final[dict[str, str]] = {t: k for k, m in MANIFESTS.items() for t in m.trigger_types}
#: Extra spellings accepted in config.yaml (the 0.22 docs renamed ``iii-x`` to ``x``).
ALIASES: Final[dict[str, str]] = {a: k for k, m in MANIFESTS.items() for a in m.aliases}


def canonical(name: str) -> str | None:
    if name in BUILTINS:
        return name
    target = ALIASES.get(name)
    if target is None and not name.startswith("iii-") and f"iii-{name}" in BUILTINS:
        target = f"iii-{name}"
    return target


def provider_of(trigger_type: str) -> str | None:
    """The built-in worker that provides ``trigger_type``, if one does."""
    return TRIGGER_TYPES.get(trigger_type)


def load(kind: str) -> type[BuiltinWorker]:
    module_name, _, class_name = BUILTINS[kind].partition(":")
    cls: type[BuiltinWorker] = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(cls, BuiltinWorker)
    return cls


def start_rank(kind: str) -> int:
    """Where ``kind`` starts; a kind no manifest declares goes last."""
    manifest = MANIFESTS.get(kind)
    return manifest.start_rank if manifest is not None else max(m.start_rank for m in MANIFESTS.values()) + 1
