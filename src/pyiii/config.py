"""``config.yaml`` -> typed config (spec/workers.md §1).

* ``${VAR}`` / ``${VAR:default}`` are substituted in the raw text before parsing.
* ``workers:`` (and the legacy ``modules:``) list ``{name, config}`` entries; ``iii-http`` and
  ``http`` name the same worker; listing both is an error.
* Every unknown key or worker name is an error naming it and its line in the file.
* Without a file, every built-in worker pyiii has starts, storing data under ``./data``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from pyiii.core.engine import EngineLimits
from pyiii.workers import catalog

ENV_RE = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")
TOP_LEVEL_KEYS = {"workers", "modules", "engine", "data_dir"}
ENTRY_KEYS = {"name", "config", "image"}


class ConfigError(ValueError):
    """A config problem, with the file and line it comes from when known."""


@dataclass(slots=True)
class WorkerEntry:
    kind: str
    entry_id: str
    config: Any
    line: int | None = None
    #: Keys the config file named for this worker (a flag like `--host` fills only the others).
    named: frozenset[str] = frozenset()
    #: Config keys whose value is a ``${VAR}`` in the file: key -> VAR (error messages name it).
    env: dict[str, str] = field(default_factory=dict)
    #: The file the entry comes from.
    source: str | None = None


@dataclass(slots=True)
class EngineConfig:
    workers: list[WorkerEntry]
    limits: EngineLimits = field(default_factory=EngineLimits)
    data_dir: Path = Path("data")
    source: Path | None = None

    def listeners(self) -> list[WorkerEntry]:
        return [w for w in self.workers if w.kind == "iii-worker-manager"]


def expand_env(text: str, version: str, source: str = "config.yaml") -> str:
    """Substitute ``${VAR[:default]}``; a missing variable without default is an error."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is not None:
            return value
        if default is None:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(f"{source}:{line}: environment variable '{name}' is not set and has no default")
        return version if default == "__III_ENGINE_VERSION__" else default

    return ENV_RE.sub(replace, text)


def _entry_lines(text: str) -> dict[tuple[str, int], int]:
    """Line (1-based) of each ``workers[i]`` / ``modules[i]`` entry, for error messages."""
    lines: dict[tuple[str, int], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key_node, value_node in root.value:
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                lines[(key_node.value, i)] = item.start_mark.line + 1
    return lines


ENV_KEY_RE = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*[\"']?\$\{([^}:]+)")


def _env_keys(raw: str, lines: dict[tuple[str, int], int]) -> dict[int, dict[str, str]]:
    """For each entry (by its first line): the keys whose value is ``${VAR...}`` in the raw text."""
    starts = sorted(set(lines.values()))
    raw_lines = raw.splitlines()
    out: dict[int, dict[str, str]] = {}
    for i, start in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(raw_lines)
        chunk = "\n".join(raw_lines[start - 1:end])
        out[start] = {m.group(1): m.group(2) for m in ENV_KEY_RE.finditer(chunk)}
    return out


def parse(text: str, *, source: str = "config.yaml", version: str = "0.0.0") -> EngineConfig:
    raw = text
    text = expand_env(text, version, source)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if doc is None:
        doc = {"workers": []}
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with a `workers:` list")
    unknown = set(doc) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected {sorted(TOP_LEVEL_KEYS)}")
    lines = _entry_lines(text)
    env_keys = _env_keys(raw, lines)
    entries: list[WorkerEntry] = []
    spelled: dict[str, str] = {}
    for section in ("workers", "modules"):
        items = doc.get(section, [])
        if section in doc and items is None:
            raise ConfigError(f"{source}: `{section}:` is empty; write `{section}: []`")
        if not isinstance(items, list):
            raise ConfigError(f"{source}: `{section}` must be a list")
        for i, item in enumerate(items):
            line = lines.get((section, i))
            entry = _parse_entry(item, f"{section}[{i}]", line, source, spelled)
            entry.env = env_keys.get(line, {}) if line else {}
            entry.source = source
            entries.append(entry)
    limits = _parse_limits(doc.get("engine"), source)
    data_dir = Path(str(doc.get("data_dir", "data")))
    return EngineConfig(workers=with_mandatory(entries), limits=limits, data_dir=data_dir, source=Path(source))


def _where(source: str, line: int | None, place: str) -> str:
    return f"{source}:{line}: {place}" if line else f"{source}: {place}"


def _parse_entry(item: Any, place: str, line: int | None, source: str, spelled: dict[str, str]) -> WorkerEntry:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ConfigError(_where(source, line, f"{place}: expected a mapping with a `name:`"))
    unknown = set(item) - ENTRY_KEYS
    if unknown:
        raise ConfigError(_where(source, line, f"{place} ({item['name']}): unknown key(s) {sorted(unknown)}"))
    name: str = item["name"]
    base = name.split("#", 1)[0]
    kind = catalog.canonical(base)
    if kind is None:
        known = ", ".join(sorted(catalog.BUILTINS))
        raise ConfigError(_where(source, line, f"{place}: unknown worker '{name}' (pyiii has: {known})"))
    if item.get("image") is not None:
        raise ConfigError(_where(source, line, f"{place} ({name}): `image` is only for external workers"))
    if kind in spelled and spelled[kind] != base:
        raise ConfigError(
            _where(source, line, f"{place}: '{base}' and '{spelled[kind]}' are the same worker; list it once")
        )
    if kind in spelled and kind != "iii-worker-manager":
        raise ConfigError(_where(source, line, f"{place}: worker '{name}' is listed twice"))
    spelled[kind] = base
    cls = catalog.load(kind)
    try:
        config = msgspec.convert(item.get("config") or {}, cls.config_type)
    except msgspec.ValidationError as exc:
        raise ConfigError(_where(source, line, f"{place} ({name}).config: {exc}")) from None
    named = frozenset(item["config"]) if isinstance(item.get("config"), dict) else frozenset()
    return WorkerEntry(kind=kind, entry_id=kind, config=config, line=line, named=named)


def _parse_limits(block: Any, source: str) -> EngineLimits:
    if block is None:
        return EngineLimits()
    if not isinstance(block, dict):
        raise ConfigError(f"{source}: `engine:` must be a mapping of limits")
    known = {f.name for f in dataclasses.fields(EngineLimits)}
    unknown = set(block) - known
    if unknown:
        raise ConfigError(f"{source}: engine: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
    try:
        return msgspec.convert(block, EngineLimits)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: engine: {exc}") from None


def with_mandatory(entries: list[WorkerEntry]) -> list[WorkerEntry]:
    """Add mandatory workers that are missing, name duplicates ``kind#N``, sort by start order."""
    present = {e.kind for e in entries}
    for kind in catalog.BUILTINS:
        if kind not in present and kind in catalog.MANDATORY:
            entries.append(WorkerEntry(kind=kind, entry_id=kind, config=catalog.load(kind).config_type()))
    seen: dict[str, int] = {}
    for e in entries:
        n = seen.get(e.kind, 0)
        e.entry_id = e.kind if n == 0 else f"{e.kind}#{n}"
        seen[e.kind] = n + 1
    return sorted(entries, key=lambda e: catalog.start_rank(e.kind))


def default_config() -> EngineConfig:
    """No config file: every built-in worker pyiii has, with its defaults."""
    entries = [
        WorkerEntry(kind=kind, entry_id=kind, config=catalog.load(kind).config_type())
        for kind in catalog.BUILTINS
        if kind not in catalog.NEEDS_CONFIG
    ]
    return EngineConfig(workers=with_mandatory(entries))


def load(path: Path | None, version: str = "0.0.0") -> EngineConfig:
    """Load ``path``; ``None`` -> ./config.yaml if it exists, else :func:`default_config`."""
    if path is None:
        candidate = Path("config.yaml")
        if not candidate.exists():
            return default_config()
        path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, source=str(path), version=version)
