"""``config.yaml`` -> typed config (spec/workers.md §1).

* ``${VAR}`` / ``${VAR:default}`` are substituted in the raw text before parsing.
* ``workers:`` (and the legacy ``modules:``) list ``{name, config}`` entries; ``iii-http`` and
  ``http`` name the same worker; listing both is an error.
* Every unknown key or worker name is an error naming it and its line in the file.
* The iii ≤ 0.10 module format (``modules: - class: ...``, Motia's ``iii-config.yaml``) is read
  as is: :mod:`pyiii.legacy_config` translates it into the entries above.
* Without a file, every built-in worker pyiii has starts, storing data under ``./data``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from pyiii import env_vars, legacy_config
from pyiii.core.engine import EngineLimits
from pyiii.workers import catalog

log = logging.getLogger("pyiii.config")  # the name log configs and tests know it by

TOP_LEVEL_KEYS = {"workers", "modules", "engine", "data_dir", "registration_namespace_grace_ms"}
#: Overrides the top-level ``registration_namespace_grace_ms`` when set to an integer (ms).
NAMESPACE_GRACE_ENV = "III_NAMESPACE_GRACE_MS"
#: EngineLimits fields set from their own top-level key, not from the ``engine:`` block.
_TOP_LEVEL_LIMITS = frozenset({"registration_namespace_grace_ms"})
ENTRY_KEYS = {"name", "config", "image"}
#: Looked for in this order when no file is named (Motia projects keep only iii-config.yaml).
DEFAULT_NAMES = ("config.yaml", "iii-config.yaml")
#: Workers that may be listed several times (each entry is one more instance).
REPEATABLE = {"iii-worker-manager", "iii-exec"}
MSGSPEC_AT = re.compile(r" - at `\$([^`]*)`$")


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
        value = env_vars.value_of(match, version)
        if value is None:
            line = text.count("\n", 0, match.start()) + 1
            raise ConfigError(f"{source}:{line}: environment variable '{match.group(1)}' is not set and has no default")
        return value

    return env_vars.PLACEHOLDER.sub(replace, text)


def _node_lines(text: str) -> dict[legacy_config.Path, int]:
    """Line (1-based) of every key and list item, by path from the root, for error messages."""
    lines: dict[legacy_config.Path, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: legacy_config.Path) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, str(key_node.value))
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def _load_doc(text: str, source: str) -> Any:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        if mark is None or not problem:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from None
        raise ConfigError(f"{source}:{mark.line + 1}: not valid YAML: {problem} (column {mark.column + 1})") from None
    if doc is None:
        doc = {"workers": []}
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with a `workers:` list")
    return doc


def parse(text: str, *, source: str = "config.yaml", version: str = "0.0.0") -> EngineConfig:
    config, notes = _parse(text, source, version)
    for note in notes:
        log.info("%s", note)
    return config


def _env_keys(raw_lines: list[str], lines: dict[legacy_config.Path, int], config_path: legacy_config.Path,
              keys: frozenset[str]) -> dict[str, str]:
    """The keys of a worker's config block whose value is ``${VAR...}`` in the raw text: key -> VAR."""
    out: dict[str, str] = {}
    for key in keys:
        line = lines.get((*config_path, key))
        if line is not None and line <= len(raw_lines):
            match = re.search(rf"{re.escape(key)}\s*:\s*[\"']?\$\{{([^}}:]+)", raw_lines[line - 1])
            if match:
                out[key] = match.group(1)
    return out


def _parse(text: str, source: str, version: str) -> tuple[EngineConfig, list[str]]:
    """The config, and the facts worth a log line at start (a legacy file read, and how)."""
    raw_lines = text.splitlines()
    text = expand_env(text, version, source)
    doc = _load_doc(text, source)
    legacy = legacy_config.is_legacy(doc)
    allowed = TOP_LEVEL_KEYS | {"port"} if legacy else TOP_LEVEL_KEYS
    unknown = set(doc) - allowed
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected {sorted(allowed)}")
    lines = _node_lines(text)
    notes: list[str] = []
    # (item, place, line, path of its config block) for every entry, in start-up order.
    items: list[tuple[Any, str, int | None, legacy_config.Path]] = []
    sections = ("modules", "workers") if legacy else ("workers", "modules")  # v0.10 read modules first
    for section in sections:
        listed = doc.get(section, [])
        if section in doc and listed is None:
            raise ConfigError(f"{source}: `{section}:` is empty; write `{section}: []`")
        if not isinstance(listed, list):
            raise ConfigError(f"{source}: `{section}` must be a list")
        if not legacy:
            items += [(item, f"{section}[{i}]", lines.get((section, i)), (section, i, "config"))
                      for i, item in enumerate(listed)]
    if legacy:
        try:
            translation = legacy_config.translate(doc, lines.get)
        except legacy_config.LegacyConfigError as exc:
            raise ConfigError(_where(source, exc.line, exc.message)) from None
        items = [(t.item, t.place, t.line, t.config_path) for t in translation.entries if t.item is not None]
        notes.append(f"{source} is in the iii ≤ 0.10 module format; read as is "
                     f"(`pyiii config migrate {source}` prints it in the workers: format)")
        notes += [f"{source}: {note}" for note in translation.notes]
    entries: list[WorkerEntry] = []
    spelled: dict[str, str] = {}
    for item, place, line, config_path in items:
        entry = _parse_entry(item, place, line, source, spelled, lines, config_path)
        entry.env = _env_keys(raw_lines, lines, config_path, entry.named)
        entry.source = source
        entries.append(entry)
    limits = _parse_limits(doc.get("engine"), source)
    limits.registration_namespace_grace_ms = _namespace_grace(doc, source, limits.registration_namespace_grace_ms)
    data_dir = Path(str(doc.get("data_dir", "data")))
    config = EngineConfig(workers=with_mandatory(entries), limits=limits, data_dir=data_dir, source=Path(source))
    return config, notes


def _where(source: str, line: int | None, place: str) -> str:
    return f"{source}:{line}: {place}" if line else f"{source}: {place}"


def _error_line(lines: dict[legacy_config.Path, int], base: legacy_config.Path, message: str) -> int | None:
    """The line of the key a msgspec error points at (``- at `$.adapter.config```), or of its
    nearest enclosing key; an unknown field is looked up inside the object it was found in, and
    a message starting ``key[i]`` (a worker's ``__post_init__`` check) at that item."""
    at = MSGSPEC_AT.search(message)  # absent when the error is at the block's own level
    path: list[str | int] = [*base]
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", at.group(1) if at else ""):
        path.append(part[0] if part[0] else int(part[1]))
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        path.append(unknown.group(1))
    item = re.match(r"(\w+)\[(\d+)", message)  # a worker's own check naming an item: `exec[1..3] ...`
    if item:
        path += [item.group(1), int(item.group(2))]
    while path:
        if tuple(path) in lines:
            return lines[tuple(path)]
        path.pop()
    return None


def _parse_entry(item: Any, place: str, line: int | None, source: str, spelled: dict[str, str],
                 lines: dict[legacy_config.Path, int] | None = None,
                 config_path: legacy_config.Path = ()) -> WorkerEntry:
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
    if kind in spelled and kind not in REPEATABLE:
        raise ConfigError(_where(source, line, f"{place}: worker '{name}' is listed twice"))
    spelled[kind] = base
    cls = catalog.load(kind)
    try:
        config = msgspec.convert(item.get("config") or {}, cls.config_type)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = _error_line(lines or {}, config_path, message) or line
        message = message.removesuffix(" - at `$`")  # the entry's own block: the place says so
        raise ConfigError(_where(source, at, f"{place} ({name}).config: {message}")) from None
    named = frozenset(item["config"]) if isinstance(item.get("config"), dict) else frozenset()
    return WorkerEntry(kind=kind, entry_id=kind, config=config, line=line, named=named)


def _namespace_grace(doc: dict[str, Any], source: str, default: int) -> int:
    """``III_NAMESPACE_GRACE_MS`` if set and an integer, else the top-level key, else the
    default (spec iii-0.23-0.25 §1.2)."""
    env = os.environ.get(NAMESPACE_GRACE_ENV, "").strip()
    if env:
        try:
            if int(env) >= 0:
                return int(env)
        except ValueError:
            pass
        log.warning("%s=%r is not a number of milliseconds; ignored", NAMESPACE_GRACE_ENV, env)
    value = doc.get("registration_namespace_grace_ms", default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{source}: registration_namespace_grace_ms must be an integer >= 0 (milliseconds)")
    return value


def _parse_limits(block: Any, source: str) -> EngineLimits:
    if block is None:
        return EngineLimits()
    if not isinstance(block, dict):
        raise ConfigError(f"{source}: `engine:` must be a mapping of limits")
    known = {f.name for f in dataclasses.fields(EngineLimits)} - _TOP_LEVEL_LIMITS
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


def find_default(folder: Path = Path(".")) -> Path | None:
    """``config.yaml`` in ``folder``, else ``iii-config.yaml`` (a Motia project's file), else None."""
    for name in DEFAULT_NAMES:
        candidate = folder / name
        if candidate.exists():
            if name != DEFAULT_NAMES[0]:
                log.info("no %s in %s; reading %s", DEFAULT_NAMES[0], folder.resolve(), candidate)
            return candidate
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load(path: Path | None, version: str = "0.0.0") -> EngineConfig:
    """Load ``path``; ``None`` -> :func:`find_default` in the working folder, else
    :func:`default_config`."""
    if path is None:
        path = find_default()
        if path is None:
            return default_config()
    return parse(_read(path), source=str(path), version=version)


def migrate(path: Path, version: str = "0.0.0") -> str:
    """``path`` in the ``workers:`` format: a legacy file translated (``${VAR:default}`` kept),
    a current one unchanged. The file must load: errors are the ones the engine would report."""
    text = _read(path)
    source = str(path)
    _parse(text, source, version)
    try:  # translate the text as written, so that placeholders survive
        raw = _load_doc(text, source)
        lines = _node_lines(text)
    except ConfigError:  # placeholders that only parse once expanded (e.g. inside `{...}`)
        expanded = expand_env(text, version, source)
        raw, lines = _load_doc(expanded, source), _node_lines(expanded)
    if not legacy_config.is_legacy(raw):
        return text
    try:
        translation = legacy_config.translate(raw, lines.get)
    except legacy_config.LegacyConfigError as exc:
        raise ConfigError(_where(source, exc.line, exc.message)) from None
    return legacy_config.render(raw, translation, path.name)
