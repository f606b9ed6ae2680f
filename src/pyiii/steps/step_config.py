"""A step's ``config`` (dict or pydantic model, any Motia generation) → :class:`StepConfig`.

Accepted: 1.0 ``triggers`` lists built with the helpers or by hand, camelCase and snake_case
keys, ``emits`` as an alias of ``enqueues``, and the legacy (Motia 0.x) root-level
``type: api|event|cron|noop`` with ``path``/``method``/``subscribes``/``cron``/``bodySchema``/
``input``/``infrastructure``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyiii.cron_expressions import CronError, CronSchedule
from pyiii.steps.keys import camel, pick
from pyiii.steps.schemas import to_json_schema
from pyiii.steps.triggers import HTTP_METHODS

TRIGGER_TYPES = ("http", "queue", "cron", "state", "stream")
#: Trigger types as other generations spell them.
TYPE_ALIASES = {"api": "http", "event": "queue", "durable:subscriber": "queue"}
#: Config keys that are not passed through to metadata as "extra".
KNOWN_KEYS = {
    "name", "description", "triggers", "enqueues", "emits", "virtual_enqueues", "virtualEnqueues",
    "virtual_emits", "virtualEmits", "virtual_subscribes", "virtualSubscribes", "flows", "include_files",
    "includeFiles", "type", "path", "method", "subscribes", "cron", "input", "body_schema", "bodySchema",
    "response_schema", "responseSchema", "query_params", "queryParams", "middleware", "infrastructure",
}
#: Keys a trigger dict may have (helpers and hand-written, every generation's spelling).
TRIGGER_KEYS = {
    "type", "method", "path", "body_schema", "bodySchema", "response_schema", "responseSchema", "query_params",
    "queryParams", "middleware", "topic", "subscribes", "input", "config", "queue_config", "queueConfig",
    "expression", "cron", "timezone", "scope", "key", "group_id", "groupId", "item_id", "itemId", "stream_name",
    "streamName", "condition",
}


def unknown_key_warnings(keys: Any, known: set[str], where: str) -> list[str]:
    """A key that is not known but close to one that is (``flow`` for ``flows``) is most likely a
    typo: say so. Other unknown keys are the user's own metadata and pass silently."""
    out: list[str] = []
    for key in keys:
        if not isinstance(key, str) or key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
        if close:
            out.append(f"{where}unknown key {key!r}: did you mean {close[0]!r}? (as spelt it has no effect)")
    return out


class StepConfigError(ValueError):
    pass


@dataclass
class TriggerDef:
    type: str
    index: int = 0
    # http
    method: str | None = None
    path: str | None = None
    body_schema: Any = None
    response_schema: Any = None
    query_params: list[Any] | None = None
    middleware: list[Callable[..., Any]] = field(default_factory=list)
    # queue
    topic: str | None = None
    input: Any = None
    queue_config: dict[str, Any] | None = None
    # cron
    expression: str | None = None
    timezone: str | None = None
    # state / stream filters
    scope: str | None = None
    key: str | None = None
    stream_name: str | None = None
    group_id: str | None = None
    item_id: str | None = None
    condition: Callable[..., Any] | None = None

    @property
    def suffix(self) -> str:
        """The part of the function id naming this trigger (Motia 1.0.4 naming)."""
        if self.type == "http":
            return f"http({self.method} {self.path})"
        if self.type == "queue":
            return f"queue({self.topic})"
        if self.type == "cron":
            return f"cron({self.expression})"
        if self.type == "stream":
            return f"stream({self.stream_name})"
        return self.type

    def describe(self) -> dict[str, Any]:
        """JSON-safe form for metadata: no callables, schemas as JSON Schema, camelCase keys."""
        out: dict[str, Any] = {"type": self.type}
        fields: dict[str, Any] = {
            "method": self.method, "path": self.path, "bodySchema": to_json_schema(self.body_schema),
            "responseSchema": _response_schemas(self.response_schema), "queryParams": self.query_params,
            "topic": self.topic, "input": to_json_schema(self.input), "config": self.queue_config,
            "expression": self.expression, "timezone": self.timezone, "scope": self.scope, "key": self.key,
            "streamName": self.stream_name, "groupId": self.group_id, "itemId": self.item_id,
        }
        out.update({k: v for k, v in fields.items() if v is not None})
        if self.condition is not None:
            out["conditional"] = True
        return out


@dataclass
class StepConfig:
    name: str
    description: str | None = None
    triggers: list[TriggerDef] = field(default_factory=list)
    enqueues: list[dict[str, Any]] = field(default_factory=list)
    virtual_enqueues: list[dict[str, Any]] = field(default_factory=list)
    virtual_subscribes: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    include_files: list[str] = field(default_factory=list)
    #: Any other JSON-safe key the config had (kept in metadata).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Likely mistakes that do not stop the step (a misspelt key), for the loader to log.
    warnings: list[str] = field(default_factory=list)

    def metadata(self, file_path: str) -> dict[str, Any]:
        """Function metadata a console draws flows from (spec/steps-and-console.md §b5)."""
        return {
            **self.extra,
            "name": self.name,
            "description": self.description,
            "filePath": file_path,
            "flows": self.flows,
            "enqueues": self.enqueues,
            "virtualEnqueues": self.virtual_enqueues,
            "virtualSubscribes": self.virtual_subscribes,
            "includeFiles": self.include_files,
            "triggers": [t.describe() for t in self.triggers],
        }


def _response_schemas(value: Any) -> Any:
    if isinstance(value, dict) and value and all(isinstance(k, int) or str(k).isdigit() for k in value):
        return {str(k): to_json_schema(v) for k, v in value.items()}
    return to_json_schema(value)


def _as_dict(raw: Any, what: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    dump = getattr(raw, "model_dump", None)
    if callable(dump):
        # by_alias=False keeps python names; exclude_none keeps it tidy. Callables survive.
        dumped = dump(exclude_none=True)
        if isinstance(dumped, dict):
            return dumped
    if hasattr(raw, "__dict__"):
        return {k: v for k, v in vars(raw).items() if not k.startswith("_")}
    raise StepConfigError(f"{what} must be a dict or a pydantic model, got {type(raw).__name__}")


def _topics(raw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in raw or []:
        if isinstance(item, str):
            out.append({"topic": item})
        else:
            entry = _as_dict(item, "an enqueues entry")
            topic = pick(entry, "topic", "type")
            if not isinstance(topic, str):
                raise StepConfigError(f"enqueues entry {entry!r} has no topic")
            out.append({"topic": topic, **{k: v for k, v in entry.items() if k in ("label", "conditional")}})
    return out


def _cron_expression(expr: str) -> str:
    # The engine's cron is 6/7-field; classic 5-field crontab lines get a leading seconds field.
    return f"0 {expr}" if len(expr.split()) == 5 else expr


def _check_timezone(name: Any, index: int) -> None:
    """The zone iii-cron would refuse, refused when the step loads (one clear error)."""
    if isinstance(name, str) and name:
        try:
            ZoneInfo(name)
            return
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise StepConfigError(f"triggers[{index}]: unknown timezone {name!r} (an IANA zone name such as 'Europe/Paris')")


def _queue_config(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    # The engine reads queue_config camelCase (spec/workers.md §8.3); accept snake_case too.
    return {camel(str(k)): v for k, v in _as_dict(raw, "queue config").items() if v is not None}


def _step_queue_config(infra: Any) -> dict[str, Any] | None:
    if infra is None:
        return None
    try:
        return _queue_config(_as_dict(infra, "infrastructure").get("queue"))
    except StepConfigError:
        return None


def parse_trigger(raw: Any, index: int) -> TriggerDef:
    spec = _as_dict(raw, f"triggers[{index}]")
    kind = str(spec.get("type", ""))
    kind = TYPE_ALIASES.get(kind, kind)
    if kind not in TRIGGER_TYPES:
        raise StepConfigError(f"triggers[{index}]: unknown trigger type {spec.get('type')!r}")
    t = TriggerDef(type=kind, index=index, condition=spec.get("condition"))
    if kind == "http":
        t.method = str(spec.get("method") or "GET").upper()
        if t.method not in HTTP_METHODS:
            raise StepConfigError(f"triggers[{index}]: unsupported HTTP method {t.method}")
        path = spec.get("path")
        if not isinstance(path, str) or not path:
            raise StepConfigError(f"triggers[{index}]: an http trigger needs a `path`")
        t.path = path if path.startswith("/") else "/" + path
        t.body_schema = pick(spec, "body_schema", "bodySchema")
        t.response_schema = pick(spec, "response_schema", "responseSchema")
        t.query_params = pick(spec, "query_params", "queryParams")
        t.middleware = list(spec.get("middleware") or [])
    elif kind == "queue":
        t.topic = pick(spec, "topic", "subscribes")
        if not isinstance(t.topic, str) or not t.topic:
            raise StepConfigError(f"triggers[{index}]: a queue trigger needs a `topic`")
        t.input = spec.get("input")
        infra = spec.get("infrastructure")
        infra_queue = _as_dict(infra, "infrastructure").get("queue") if infra is not None else None
        t.queue_config = _queue_config(pick(spec, "config", "queue_config", "queueConfig") or infra_queue)
    elif kind == "cron":
        expr = pick(spec, "expression", "cron")
        if not isinstance(expr, str) or not expr.strip():
            raise StepConfigError(f"triggers[{index}]: a cron trigger needs an `expression`")
        t.expression = _cron_expression(expr.strip())
        try:
            CronSchedule.parse(t.expression)
        except CronError as exc:
            raise StepConfigError(f"triggers[{index}]: invalid cron expression {t.expression!r}: {exc}") from None
        t.timezone = spec.get("timezone")
        if t.timezone is not None:
            _check_timezone(t.timezone, index)
    elif kind == "state":
        t.scope = pick(spec, "scope", "group_id", "groupId")
        t.key = pick(spec, "key", "item_id", "itemId")
    else:
        t.stream_name = pick(spec, "stream_name", "streamName")
        if not isinstance(t.stream_name, str) or not t.stream_name:
            raise StepConfigError(f"triggers[{index}]: a stream trigger needs a `stream_name`")
        t.group_id = pick(spec, "group_id", "groupId")
        t.item_id = pick(spec, "item_id", "itemId")
    return t


def _legacy_triggers(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Motia 0.x: the trigger is described at the root of the config."""
    kind = raw.get("type")
    if kind == "api":
        return [{"type": "http", **{k: raw.get(k) for k in (
            "method", "path", "bodySchema", "body_schema", "responseSchema", "response_schema",
            "queryParams", "query_params", "middleware")}}]
    if kind == "event":
        infra = raw.get("infrastructure") or {}
        queue_config = infra.get("queue") if isinstance(infra, dict) else None
        return [{"type": "queue", "topic": topic, "input": raw.get("input"), "config": queue_config}
                for topic in raw.get("subscribes") or []]
    if kind == "cron":
        return [{"type": "cron", "expression": raw.get("cron") or raw.get("expression")}]
    if kind == "noop":
        return []
    raise StepConfigError(f"unknown legacy step type {kind!r} (expected api, event, cron or noop)")


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


def parse_config(raw: Any) -> StepConfig:
    spec = _as_dict(raw, "config")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise StepConfigError("a step config needs a `name`")
    trigger_specs = spec.get("triggers")
    if trigger_specs is None and "type" in spec:
        trigger_specs = _legacy_triggers(spec)
    if not isinstance(trigger_specs, list | tuple):
        raise StepConfigError(f"step {name!r}: `triggers` must be a list")
    try:
        triggers = [parse_trigger(t, i) for i, t in enumerate(trigger_specs)]
    except StepConfigError as exc:
        raise StepConfigError(f"step {name!r}: {exc}") from None
    step_queue = _step_queue_config(spec.get("infrastructure"))
    for t in triggers:  # Motia rc24: step-level ``infrastructure.queue`` for its queue triggers
        if t.type == "queue" and t.queue_config is None and step_queue is not None:
            t.queue_config = step_queue
    flows = spec.get("flows") or []
    warnings = unknown_key_warnings(spec, KNOWN_KEYS, "")
    for i, t in enumerate(trigger_specs):
        if isinstance(t, dict):
            warnings += unknown_key_warnings(t, TRIGGER_KEYS, f"triggers[{i}]: ")
    return StepConfig(
        name=name,
        description=spec.get("description"),
        triggers=triggers,
        enqueues=_topics([*(spec.get("enqueues") or []), *(spec.get("emits") or [])]),
        virtual_enqueues=_topics([*(pick(spec, "virtual_enqueues", "virtualEnqueues") or []),
                                  *(pick(spec, "virtual_emits", "virtualEmits") or [])]),
        virtual_subscribes=[str(s) for s in pick(spec, "virtual_subscribes", "virtualSubscribes", default=[])],
        flows=[flows] if isinstance(flows, str) else [str(f) for f in flows],
        include_files=list(pick(spec, "include_files", "includeFiles", default=[])),
        extra={k: v for k, v in spec.items() if k not in KNOWN_KEYS and _json_safe(v)},
        warnings=warnings,
    )
