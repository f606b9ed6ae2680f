"""``pyiii create NAME``: copy the project template (package data under pyiii/templates)."""

from __future__ import annotations

import json
import re
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path

TEMPLATE = "python"
#: Files and folders stored without their leading dot so packaging tools never drop them.
RENAMES = {"gitignore": ".gitignore", "cursor": ".cursor", "github": ".github"}
TEXT_SUFFIXES = {".py", ".md", ".mdc", ".toml", ".yaml", ".yml", ".txt", ""}


class ScaffoldError(Exception):
    pass


def pyiii_requirement() -> str:
    """How the new project's pyproject.toml asks for pyiii, resolvable from this machine.

    pyiii is not on a package index: when it runs from a source tree (a checkout, an editable or
    a local-folder install), the project depends on that folder by a direct reference
    (``pyiii @ file:///abs/path``); when it was installed from a local wheel, on that wheel;
    otherwise on the version that created it.
    """
    from pyiii import _version

    tree = Path(_version.__file__).resolve().parents[2]  # <tree>/src/pyiii/_version.py
    if _is_pyiii_tree(tree):
        return f"pyiii @ {tree.as_uri()}"
    try:
        dist = metadata.distribution("pyiii")
        direct = json.loads(dist.read_text("direct_url.json") or "null")
        version = dist.version
    except (metadata.PackageNotFoundError, ValueError):
        direct, version = None, _version.__version__
    url = direct.get("url") if isinstance(direct, dict) else None
    if isinstance(url, str) and url.startswith("file://"):
        return f"pyiii @ {url}"
    return f"pyiii>={version}"


def _is_pyiii_tree(folder: Path) -> bool:
    try:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return False
    return re.search(r'^name\s*=\s*"pyiii"\s*$', text, re.MULTILINE) is not None


def _copy(source: Traversable, target: Path, name: str) -> None:
    for item in source.iterdir():
        if item.name == "__pycache__":
            continue
        dest = target / RENAMES.get(item.name, item.name)
        if item.is_dir():
            dest.mkdir(exist_ok=True)
            _copy(item, dest, name)
        elif Path(item.name).suffix in TEXT_SUFFIXES:
            text = item.read_text(encoding="utf-8").replace("{{name}}", name)
            if item.name == "pyproject.toml":  # the template says "pyiii": say where it is
                text = text.replace('dependencies = ["pyiii",', f'dependencies = ["{pyiii_requirement()}",')
            dest.write_text(text, encoding="utf-8")
        else:
            dest.write_bytes(item.read_bytes())


def create_project(target: Path, *, force: bool = False) -> Path:
    name = target.name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ScaffoldError(f"{name!r} is not a valid project name (letters, digits, '.', '_', '-')")
    if target.exists() and any(target.iterdir()) and not force:
        raise ScaffoldError(f"{target} exists and is not empty (use --force to write into it)")
    target.mkdir(parents=True, exist_ok=True)
    _copy(resources.files("pyiii") / "templates" / TEMPLATE, target, name)
    return target.resolve()
