"""``pyiii create NAME``: copy the project template (package data under pyiii/templates)."""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

TEMPLATE = "python"
#: Files and folders stored without their leading dot so packaging tools never drop them.
RENAMES = {"gitignore": ".gitignore", "cursor": ".cursor", "github": ".github"}
TEXT_SUFFIXES = {".py", ".md", ".mdc", ".toml", ".yaml", ".yml", ".txt", ""}


class ScaffoldError(Exception):
    pass


def _copy(source: Traversable, target: Path, name: str) -> None:
    for item in source.iterdir():
        if item.name == "__pycache__":
            continue
        dest = target / RENAMES.get(item.name, item.name)
        if item.is_dir():
            dest.mkdir(exist_ok=True)
            _copy(item, dest, name)
        elif Path(item.name).suffix in TEXT_SUFFIXES:
            dest.write_text(item.read_text(encoding="utf-8").replace("{{name}}", name), encoding="utf-8")
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
