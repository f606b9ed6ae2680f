"""``import motia`` inside the steps runner, without shadowing the real package.

pyiii ships no top-level ``motia`` package (a wheel that did would hide the real one for every
program in the environment). Instead :func:`install` — called by the steps runner — appends a
finder to the **end** of ``sys.meta_path`` when ``motia`` cannot be found otherwise. The
finders before it (the normal ``sys.path`` search) are asked first, so a real ``motia``
package wins whenever it is importable, even one installed after the runner started.

``motia`` (and ``motia.<sub>`` for the submodules step files import names from) is then a fresh
module holding the names of :mod:`pyiii.steps.motia_api`; ``motia.tracing`` is
:mod:`pyiii.steps.motia_tracing`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

#: Submodules of the real package whose names step files import (all served by motia_api).
_SUBMODULES = {"types", "types_stream", "triggers", "step", "multi_trigger", "runtime", "streams", "state",
               "loader", "iii", "bridge", "logger", "setup_step_endpoint", "schema_utils", "guards"}
_SOURCES = {"motia": "pyiii.steps.motia_api", "motia.tracing": "pyiii.steps.motia_tracing"}


def _source(fullname: str) -> str | None:
    if fullname in _SOURCES:
        return _SOURCES[fullname]
    top, _, sub = fullname.partition(".")
    return "pyiii.steps.motia_api" if top == "motia" and sub in _SUBMODULES else None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, source: str) -> None:
        self.source = source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a fresh module; exec_module fills it

    def exec_module(self, module: ModuleType) -> None:
        impl = importlib.import_module(self.source)
        names: list[str] = list(getattr(impl, "__all__", []))
        module.__dict__.update({name: getattr(impl, name) for name in names})
        module.__all__ = names  # type: ignore[attr-defined]
        module.__doc__ = f"pyiii's implementation of the Motia 1.0 Python API ({self.source})."
        module.__pyiii__ = True  # type: ignore[attr-defined]


class MotiaFinder(importlib.abc.MetaPathFinder):
    """Answers for ``motia`` only when every finder before it had nothing."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        source = _source(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(source), is_package=fullname == "motia")


def real_motia_installed() -> bool:
    """Whether ``import motia`` finds something other than this alias."""
    if any(isinstance(f, MotiaFinder) for f in sys.meta_path):
        module = sys.modules.get("motia")
        if module is not None:
            return not getattr(module, "__pyiii__", False)
        return any(f.find_spec("motia", None) is not None for f in sys.meta_path
                   if not isinstance(f, MotiaFinder) and hasattr(f, "find_spec"))
    try:
        return importlib.util.find_spec("motia") is not None
    except (ImportError, ValueError):  # a broken or spec-less ``motia`` in sys.modules
        return True


def install() -> bool:
    """Make ``import motia`` resolve to pyiii's Motia API unless a real ``motia`` is importable.
    Returns whether the alias is (now) installed. Idempotent."""
    if any(isinstance(f, MotiaFinder) for f in sys.meta_path):
        return True
    if real_motia_installed():
        return False
    sys.meta_path.append(MotiaFinder())
    return True
