"""Find ``*_step.py`` / ``*_stream.py`` under ``steps/`` and ``src/`` and import them.

Each file is imported as a real module of a package rooted at the project folder
(``steps/orders/create_order_step.py`` → ``steps.orders.create_order_step``), with folders as
implicit namespace packages, so relative imports between step files work (Motia #736).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pyiii.steps.model import LoadedStep, LoadedStream
from pyiii.steps.step_config import StepConfigError, parse_config
from pyiii.steps.stream_config import StreamConfig

log = logging.getLogger("pyiii.steps")

DEFAULT_ROOTS = ("steps", "src")
SKIP_DIRS = {"node_modules", "__pycache__", ".venv", "venv", "dist", "build", ".git", "data"}


class StepLoadError(Exception):
    """A step or stream file could not be imported or declares an invalid config."""


def motia_dirs(directory: str) -> tuple[str, ...]:
    """The folders ``motia run --dir <directory>`` searches: that one, and ``src`` (Motia's CLI
    adds it unless the directory is ``src`` itself, spec §B.3)."""
    directory = directory.rstrip("/") or "."
    return (directory,) if directory in ("src", "./src") else (directory, "src")


def roots(project: Path, names: Iterable[str] = DEFAULT_ROOTS) -> list[Path]:
    return [project / n for n in names if (project / n).is_dir()]


def _walk(root: Path, suffix: str) -> Iterator[Path]:
    for path in sorted(root.rglob(f"*{suffix}")):
        rel = path.relative_to(root).parts
        if not any(part in SKIP_DIRS or part.startswith(".") for part in rel[:-1]):
            yield path


def find(project: Path, suffix: str, names: Iterable[str] = DEFAULT_ROOTS) -> list[Path]:
    return [p for root in roots(project, names) for p in _walk(root, suffix)]


def module_name(project: Path, path: Path) -> str:
    return ".".join(path.relative_to(project).with_suffix("").parts)


def prepare(project: Path) -> None:
    """Put the project first on ``sys.path`` and forget modules another project loaded under
    the same names (``steps.*``), so several projects can run in one process one after another."""
    root = str(project)
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    # Decide for every module first, delete after: reading a namespace package's ``__path__``
    # looks its parent up in ``sys.modules``, which must still be there.
    stale = [name for name in list(sys.modules) if name.split(".", 1)[0] in DEFAULT_ROOTS
             and not _inside(sys.modules[name], project)]
    for name in stale:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def _inside(module: ModuleType, project: Path) -> bool:
    where = getattr(module, "__file__", None)
    if where is None:
        try:
            where = next(iter(getattr(module, "__path__", []) or []), None)
        except (KeyError, AttributeError):  # a namespace package whose parent is already gone
            return False
    return where is not None and Path(where).resolve().is_relative_to(project)


def import_file(project: Path, path: Path) -> ModuleType:
    """Import (or re-import) one file under its package name; on failure the previous module,
    if any, stays in ``sys.modules``."""
    name = module_name(project, path)
    parent = name.rpartition(".")[0]
    if parent:
        try:
            importlib.import_module(parent)
        except ModuleNotFoundError:  # a folder created after start: the finders cached the old listing
            importlib.invalidate_caches()
            importlib.import_module(parent)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StepLoadError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise
    return module


def rel(project: Path, path: Path) -> str:
    return path.relative_to(project).as_posix()


def load_step(project: Path, path: Path) -> LoadedStep | None:
    """The step a file declares, ``None`` if it has no ``config``+``handler`` (not a step)."""
    try:
        module = import_file(project, path)
    except Exception as exc:
        raise StepLoadError(f"{rel(project, path)}: import failed: {type(exc).__name__}: {exc}") from exc
    raw, handler = getattr(module, "config", None), getattr(module, "handler", None)
    if raw is not None and _is_definition(raw):  # Motia's ``config = step(cfg, handler)`` / ``multi_trigger_step(...)``
        raw, handler = raw.config, raw.handler
    if raw is None:
        log.warning("%s: no `config`; skipped", rel(project, path))
        return None
    try:
        config = parse_config(raw)
    except StepConfigError as exc:
        raise StepLoadError(f"{rel(project, path)}: invalid step config: {exc}") from exc
    if not callable(handler):
        if config.triggers:
            log.warning("%s: no callable `handler`; skipped", rel(project, path))
            return None
        handler = None  # a noop step: drawn in Flows, no code
    for warning in config.warnings:
        log.warning("%s: step %r: %s", rel(project, path), config.name, warning)
    return LoadedStep(config=config, handler=handler, file_path=path, rel_path=rel(project, path),
                      module_name=module.__name__)


def _is_definition(raw: Any) -> bool:
    """A Motia ``StepDefinition`` (duck-typed: a ``config`` and a ``handler`` attribute)."""
    return raw is not None and not isinstance(raw, dict) and hasattr(raw, "handler") and hasattr(raw, "config")


def load_stream(project: Path, path: Path) -> LoadedStream | None:
    try:
        module = import_file(project, path)
    except Exception as exc:
        raise StepLoadError(f"{rel(project, path)}: import failed: {type(exc).__name__}: {exc}") from exc
    raw = getattr(module, "config", None)
    if raw is None:
        return None
    try:
        config = StreamConfig.from_any(raw)
    except (ValueError, TypeError) as exc:
        raise StepLoadError(f"{rel(project, path)}: invalid stream config: {exc}") from exc
    return LoadedStream(config=config, file_path=path, rel_path=rel(project, path), module_name=module.__name__)
