"""The iii ≤ 0.10 module config format, translated into today's ``workers:`` entries.

Motia 1.0 projects ship an ``iii-config.yaml`` like::

    port: 49134                                  # optional
    modules:
      - class: modules::api::RestApiModule
        config: {port: 3111}
      - class: modules::state::StateModule
        config:
          adapter: {class: modules::state::adapters::KvStore, config: {...}}

Each ``class`` names the worker that does the job today (spec/legacy-config-and-motia.md §A.3),
each adapter ``class`` an adapter name of *that* worker (§A.4); the translation follows §A.8.
A class or key pyiii cannot honour is an error naming it and its line, never dropped unseen.

Pure functions: the loader (``pyiii.engine_config``) reads and expands the file, hands the parsed
document and a line lookup here, and validates the resulting entries like any ``workers:`` entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

#: A location in the document: keys and list indices from the root, e.g. ``("modules", 2, "config")``.
Path = tuple[str | int, ...]
LineOf = Callable[[Path], "int | None"]

#: The listener class: its config was ignored at v0.10 (the port is the top-level ``port``).
WORKER_MODULE: Final = "modules::worker::WorkerModule"
TELEMETRY_MODULE: Final = "modules::telemetry::TelemetryModule"

#: v0.10 class -> pyiii worker (§A.3).
MODULES: Final[dict[str, str]] = {
    "modules::api::RestApiModule": "iii-http",
    "modules::stream::StreamModule": "iii-stream",
    "modules::state::StateModule": "iii-state",
    "modules::queue::QueueModule": "iii-queue",
    "modules::pubsub::PubSubModule": "iii-pubsub",
    "modules::cron::CronModule": "iii-cron",
    "modules::observability::OtelModule": "iii-observability",
    "modules::shell::ExecModule": "iii-exec",
    "modules::http_functions::HttpFunctionsModule": "iii-http-functions",
    "modules::engine_fn::EngineFunctionsModule": "iii-engine-functions",
    "modules::bridge_client::BridgeClientModule": "iii-bridge",
    WORKER_MODULE: "iii-worker-manager",
}

#: Classes pyiii has no worker for, and why (§A.3, §A.5.10).
REFUSED_MODULES: Final[dict[str, str]] = {
    "modules::kv_server::KvServer": "removed in iii 0.9; use modules::state::StateModule (iii-state)",
}

#: Keys the telemetry module had (§A.5.11); pyiii sends no telemetry, so the entry is dropped.
TELEMETRY_KEYS: Final = frozenset({"enabled", "sdk_api_key", "heartbeat_interval_secs", "api_key"})

#: pyiii worker -> {v0.10 adapter class -> adapter name} (§A.4). Per worker: the same tail
#: (``RedisAdapter``, ``KvStore``) exists in several modules, and v0.10 refused another module's.
ADAPTERS: Final[dict[str, dict[str, str]]] = {
    "iii-state": {"modules::state::adapters::KvStore": "kv", "modules::state::adapters::RedisAdapter": "redis",
                  "modules::state::adapters::Bridge": "bridge"},
    "iii-stream": {"modules::stream::adapters::KvStore": "kv", "modules::stream::adapters::RedisAdapter": "redis",
                   "modules::stream::adapters::Bridge": "bridge"},
    "iii-queue": {"modules::queue::BuiltinQueueAdapter": "builtin", "modules::queue::RedisAdapter": "redis",
                  "modules::queue::RabbitMQAdapter": "rabbitmq", "modules::queue::adapters::Bridge": "bridge"},
    "iii-pubsub": {"modules::pubsub::LocalAdapter": "local", "modules::pubsub::RedisAdapter": "redis"},
    "iii-cron": {"modules::cron::KvCronAdapter": "kv", "modules::cron::RedisCronAdapter": "redis"},
}

#: RestApiModule keys found only in the v0.10 docs: the strict v0.10 struct refused them too (§A.5.1).
HTTP_DOCS_ONLY: Final[dict[str, str]] = {
    "body_limit": "use `max_body_bytes`",
    "trust_proxy": "pyiii has no equivalent",
    "request_id_header": "pyiii has no equivalent",
    "ignore_trailing_slash": "pyiii has no equivalent",
    "not_found_function": "pyiii has no equivalent",
}

#: Commands that start Motia's own runner (§A.8 step 8). The exec worker decides at start whether
#: it runs as written or pyiii's Steps runner takes its place (pyiii/workers/exec/motia.py).
MOTIA_RUNNER = re.compile(r"(?:^|[\s/])motia(?:-iii)?(?:\s|$)")

DEFAULT_PORT: Final = 49134
LEGACY_TOP_LEVEL: Final = frozenset({"port", "modules", "workers"})


class LegacyConfigError(ValueError):
    """A legacy construct pyiii cannot honour, with the line it is on."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class Translated:
    """One ``workers:`` entry (``item`` is ``{name, config?}``), or a dropped one (``item`` None)."""

    item: dict[str, Any] | None
    #: Where it came from, for messages: ``modules[3] modules::api::RestApiModule``.
    place: str
    line: int | None
    #: Path of its ``config:`` block in the original document (for precise error lines).
    config_path: Path
    #: Why it looks the way it does (``was: class: ...``); shown by ``pyiii config migrate``.
    comment: str = ""


@dataclass(slots=True)
class Translation:
    entries: list[Translated]
    #: One-line facts to log at start (legacy format read, entries dropped, commands kept).
    notes: list[str] = field(default_factory=list)


def is_legacy(doc: Mapping[str, Any]) -> bool:
    """A top-level ``port``, or an entry with ``class`` (§A.8 step 2; one with ``name`` too is
    refused by :func:`translate`)."""
    if "port" in doc:
        return True
    for section in ("modules", "workers"):
        items = doc.get(section)
        if isinstance(items, list) and any(isinstance(i, dict) and "class" in i for i in items):
            return True
    return False


def translate(doc: Mapping[str, Any], line_of: LineOf) -> Translation:
    """``modules`` then ``workers`` (the v0.10 order), each entry through §A.3/§A.4."""
    out = Translation(entries=[])
    listener: Translated | None = None
    for section in ("modules", "workers"):
        items = doc.get(section, [])
        if not isinstance(items, list):
            continue  # the loader reports the shape of a section
        for i, item in enumerate(items):
            path: Path = (section, i)
            translated = _entry(item, path, line_of, out.notes)
            if isinstance(item, dict) and item.get("class") == WORKER_MODULE:
                if listener is not None:  # one listener, however often the class is listed
                    translated = Translated(None, translated.place, translated.line, translated.config_path,
                                            f"{WORKER_MODULE}: listed again; one listener")
                else:
                    listener = translated
            out.entries.append(translated)
    _apply_port(doc, line_of, out, listener)
    return out


def _entry(item: Any, path: Path, line_of: LineOf, notes: list[str]) -> Translated:
    line = line_of(path)
    place = f"{path[0]}[{path[1]}]"
    if isinstance(item, dict) and "name" in item:
        if "class" in item:
            raise LegacyConfigError(f"{place}: has both `class:` and `name:`; use one", line)
        return Translated(dict(item), place, line, (*path, "config"))  # today's shape: as is
    if not isinstance(item, dict) or not isinstance(item.get("class"), str):
        raise LegacyConfigError(f"{place}: expected a mapping with a `class:` (iii ≤ 0.10) or a `name:`", line)
    cls: str = item["class"]
    place = f"{place} {cls}"
    unknown = set(item) - {"class", "config"}
    if unknown:
        raise LegacyConfigError(f"{place}: unknown key(s) {sorted(unknown)}; an entry has `class:` and `config:`",
                                line_of((*path, sorted(unknown)[0])) or line)
    config_path: Path = (*path, "config")
    config = item.get("config")
    if config is not None and not isinstance(config, dict):
        raise LegacyConfigError(f"{place}: `config:` must be a mapping", line_of(config_path) or line)
    config = dict(config or {})
    if cls in REFUSED_MODULES:
        raise LegacyConfigError(f"{place}: not supported: {REFUSED_MODULES[cls]}", line)
    if cls == TELEMETRY_MODULE:
        unknown = set(config) - TELEMETRY_KEYS
        if unknown:
            raise LegacyConfigError(f"{place}: unknown key(s) {sorted(unknown)} (expected {sorted(TELEMETRY_KEYS)})",
                                    line_of((*config_path, sorted(unknown)[0])) or line)
        notes.append(f"{place}: dropped: pyiii sends no telemetry")
        return Translated(None, place, line, config_path, f"{cls}: dropped (pyiii sends no telemetry)")
    name = MODULES.get(cls)
    if name is None:
        known = ", ".join(sorted(MODULES))
        raise LegacyConfigError(f"{place}: unknown module class '{cls}' (pyiii knows: {known})", line)
    if cls == WORKER_MODULE and config:
        raise LegacyConfigError(
            f"{place}: takes no `config:` (iii 0.10 ignored it); set the port with a top-level `port:`", line)
    config = _translate_config(name, config, place, config_path, line_of, line, notes)
    out: dict[str, Any] = {"name": name}
    if config or ("config" in item and cls != WORKER_MODULE):
        out["config"] = config
    return Translated(out, place, line, config_path, f"was: class: {cls}")


def _translate_config(name: str, config: dict[str, Any], place: str, config_path: Path, line_of: LineOf,
                      line: int | None, notes: list[str]) -> dict[str, Any]:
    def key_line(*keys: str | int) -> int | None:
        return line_of((*config_path, *keys)) or line

    if "adapter" in config and name in ADAPTERS:
        config["adapter"] = _adapter(name, config["adapter"], place, (*config_path, "adapter"), line_of, line)
    if name == "iii-http":
        for key, hint in HTTP_DOCS_ONLY.items():
            if key in config:
                raise LegacyConfigError(
                    f"{place}: `{key}` is in the iii 0.10 docs but was never implemented (iii 0.10 refused it "
                    f"too); {hint}", key_line(key))
    if name == "iii-observability" and "log_level" in config:
        # v0.10 read `log_level` as an alias of `level`; v0.22 dropped the alias.
        if "level" in config:
            raise LegacyConfigError(f"{place}: both `level` and `log_level`; keep `level`", key_line("log_level"))
        config = {("level" if k == "log_level" else k): v for k, v in config.items()}
    if name == "iii-exec":
        from pyiii.workers.exec import motia as exec_motia  # only with an exec entry (start-up time, B12)

        if not config.get("exec"):
            raise LegacyConfigError(f"{place}: needs an `exec:` list (iii 0.10 refused to start without it)",
                                    line_of(config_path) or line)
        for command in config["exec"]:
            text = command if isinstance(command, str) else " ".join(map(str, command))
            if MOTIA_RUNNER.search(text) and exec_motia.parse(command) is None:
                notes.append(f"{place}: `{text}` runs as written (Motia's Node runner, or a command pyiii does "
                             "not take apart); it connects to pyiii through III_URL")
            elif MOTIA_RUNNER.search(text):
                notes.append(f"{place}: `{text}` starts Motia's runner: it runs as written if the motia runtime "
                             "is installed where it runs (connecting through III_URL), else pyiii's Steps runner "
                             "serves its folder; the exec worker logs which")
    return config


def _adapter(name: str, block: Any, place: str, path: Path, line_of: LineOf, line: int | None) -> Any:
    at = line_of(path) or line
    if not isinstance(block, dict):
        raise LegacyConfigError(f"{place}: `adapter:` must be a mapping with a `class:`", at)
    if "name" in block:
        if "class" in block:
            raise LegacyConfigError(f"{place}: adapter has both `class:` and `name:`; use one", at)
        return block  # today's shape inside a legacy entry: validated by the worker
    cls = block.get("class")
    if not isinstance(cls, str):
        raise LegacyConfigError(f"{place}: `adapter:` needs a `class:`", at)
    unknown = set(block) - {"class", "config"}
    if unknown:
        raise LegacyConfigError(f"{place}: adapter: unknown key(s) {sorted(unknown)}; expected class, config", at)
    at = line_of((*path, "class")) or at
    table = ADAPTERS[name]
    if cls not in table:
        owner = next((n for n, t in ADAPTERS.items() if cls in t), None)
        if owner is not None:
            raise LegacyConfigError(f"{place}: adapter '{cls}' belongs to another module ({owner}); "
                                    f"this one has: {', '.join(table)}", at)
        raise LegacyConfigError(f"{place}: unknown adapter class '{cls}' (available: {', '.join(table)})", at)
    out: dict[str, Any] = {"name": table[cls]}
    if block.get("config") is not None:
        out["config"] = block["config"]
    return out


def _apply_port(doc: Mapping[str, Any], line_of: LineOf, out: Translation, listener: Translated | None) -> None:
    """Top-level ``port`` -> the first ``iii-worker-manager`` (§A.8 step 3). No ``host`` is
    invented: v0.10 bound 0.0.0.0, pyiii binds loopback unless told (``--host``, rule 9)."""
    first = next((t for t in out.entries if t.item is not None and t.item.get("name") in
                  ("iii-worker-manager", "worker-manager")), None)
    if "port" not in doc:
        return
    port = doc["port"]
    if port == 0:  # v0.10 replaced 0 by the default port
        port = DEFAULT_PORT
    line = line_of(("port",))
    if first is None:
        first = Translated({"name": "iii-worker-manager"}, "port", line, ("port",), "from top-level `port:`")
        out.entries.insert(0, first)
    elif first is listener:
        first.comment = f"from top-level `port:`; {first.comment}"
    assert first.item is not None
    config = first.item.get("config") or {}
    if isinstance(config, dict):  # else the worker's own validation names the problem
        first.item["config"] = {"port": port, **config}


def render(doc: Mapping[str, Any], translation: Translation, source: str) -> str:
    """The translated document as YAML, ``${VAR:default}`` kept, one comment per changed entry."""
    lines = [f"# {source}, translated from the iii ≤ 0.10 module format by `pyiii config migrate`"]
    for key in ("engine", "data_dir"):  # pyiii's own top-level keys stay as they are
        if key in doc:
            lines.append(_dump({key: doc[key]}).rstrip("\n"))
    lines.append("workers:" if any(e.item is not None for e in translation.entries) else "workers: []")
    for entry in translation.entries:
        if entry.item is None:
            lines.append(f"  # {entry.comment}")
            continue
        text = _dump([entry.item]).rstrip("\n").split("\n")
        if entry.comment:
            text[0] += f"  # {entry.comment}"
        lines.extend("  " + t for t in text)
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, as the spec's examples and most hand-written files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=1000)
