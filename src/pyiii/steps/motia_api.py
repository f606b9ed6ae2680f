"""The Motia 1.0 Python API (``from motia import ...``) on pyiii's Steps framework.

Every public name of the ``motia`` package (rc24 and 1.0.3rc1, spec/legacy-config-and-motia.md
§B.2) with Motia's semantics, built on :mod:`pyiii.steps`. Step files do not import this module
by name: the steps runner makes ``import motia`` resolve to it when the real ``motia`` package is
not installed (:mod:`pyiii.steps.motia_import`).

Where Motia and pyiii differ on purpose, pyiii's behaviour wins and is listed in
docs/migrating-from-motia.md: trigger helpers accept lower-case methods, models keep unknown
and camelCase keys instead of dropping them, ``config = step(...)`` objects are registered
instead of silently skipped.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pyiii.sdk import III, ChannelReader, ChannelWriter
from pyiii.steps import motia_tracing as tracing
from pyiii.steps import runtime
from pyiii.steps.context import FlowContext, TriggerInfo
from pyiii.steps.inputs import ApiRequest, ApiResponse, StateTriggerInput, StreamTriggerInput
from pyiii.steps.invoke import invoke
from pyiii.steps.model import LoadedStep
from pyiii.steps.services import enqueue, logger, stateManager
from pyiii.steps.state import StateManager
from pyiii.steps.step_config import TYPE_ALIASES, parse_config
from pyiii.steps.stream_config import StreamConfig
from pyiii.steps.streams import Stream

# ---------------------------------------------------------------------------------- type aliases

ApiRouteMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
#: ``async def m(request, ctx, next) -> ApiResponse`` (pyiii also runs ``m(request) -> bool`` guards).
ApiMiddleware = Callable[[Any, Any, Callable[[], Awaitable[Any]]], Awaitable[Any]]
Enqueuer = Callable[[Any], Awaitable[None]]
TriggerCondition = Callable[[Any, Any], bool | Awaitable[bool]]
TriggerInput = Any
#: 1.0.3rc1's request/response pair: pyiii's ``ApiRequest`` has both shapes; the response side
#: is the raw response channel.
MotiaHttpArgs = ApiRequest
MotiaHttpRequest = ApiRequest
MotiaHttpResponse = ChannelWriter


class _Model(BaseModel):
    # Unknown keys are kept (Motia drops them, which silently lost camelCase keys).
    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True, populate_by_name=True)


# ---------------------------------------------------------------------------------- models

class QueryParam(_Model):
    name: str
    description: str


class Enqueue(_Model):
    topic: str
    label: str | None = None
    conditional: bool = False


class QueueConfig(_Model):
    type: Literal["standard", "fifo"] = "standard"
    max_retries: int = 3
    visibility_timeout: int = 30
    delay_seconds: int = 0
    concurrency: int | None = None
    backoff_type: str | None = None
    backoff_delay_ms: int | None = None


class ApiTrigger(_Model):
    type: Literal["http"] = "http"
    path: str
    method: ApiRouteMethod
    condition: Any = None
    middleware: list[Any] | None = None
    body_schema: Any = None
    response_schema: dict[int, Any] | None = None
    query_params: list[QueryParam] | None = None


class QueueTrigger(_Model):
    type: Literal["queue"] = "queue"
    topic: str
    condition: Any = None
    input: Any = None
    #: A :class:`QueueConfig` (sent with its defaults filled in, as 1.0.3rc1 does) or a dict (as is).
    config: Any = None
    infrastructure: Any = None


class CronTrigger(_Model):
    type: Literal["cron"] = "cron"
    expression: str
    condition: Any = None


class StateTrigger(_Model):
    type: Literal["state"] = "state"
    condition: Any = None


class StreamTrigger(_Model):
    type: Literal["stream"] = "stream"
    stream_name: str = Field(alias="streamName")
    group_id: str | None = None
    item_id: str | None = None
    condition: Any = None


TriggerConfig = ApiTrigger | QueueTrigger | CronTrigger | StateTrigger | StreamTrigger


class StepConfig(_Model):
    name: str
    triggers: list[Any] = Field(default_factory=list)
    enqueues: list[Any] = Field(default_factory=list)
    virtual_enqueues: list[Any] | None = None
    virtual_subscribes: list[str] | None = None
    description: str | None = None
    flows: list[str] | None = None
    include_files: list[str] | None = None
    infrastructure: Any = None


class StreamEvent(_Model):
    type: Literal["create", "update", "delete"]
    data: Any = None


class StreamSubscription(_Model):
    group_id: str = Field(alias="groupId")
    id: str | None = None


class StreamAuthInput(_Model):
    headers: dict[str, Any] = Field(default_factory=dict)
    path: str = ""
    query_params: dict[str, list[str]] = Field(default_factory=dict)
    addr: str = ""


class StreamAuthResult(_Model):
    authorized: bool
    context: Any = None


@dataclass
class Step:
    file_path: str
    config: Any


# ---------------------------------------------------------------------------------- trigger helpers

def http(
    method: str,
    path: str,
    *,
    body_schema: Any = None,
    response_schema: dict[int, Any] | None = None,
    query_params: list[Any] | None = None,
    middleware: list[Any] | None = None,
    condition: Any = None,
) -> ApiTrigger:
    return ApiTrigger(path=path, method=method.upper(), body_schema=body_schema,  # type: ignore[arg-type]
                      response_schema=response_schema, query_params=query_params, middleware=middleware,
                      condition=condition)


def api(*args: Any, **kwargs: Any) -> ApiTrigger:
    """Deprecated alias of :func:`http`."""
    warnings.warn("api() is deprecated; use http()", DeprecationWarning, stacklevel=2)
    return http(*args, **kwargs)


def queue(topic: str, *, input: Any = None, config: Any = None, infrastructure: Any = None,
          condition: Any = None) -> QueueTrigger:
    """``config`` (1.0.3rc1) or ``infrastructure={"queue": {...}}`` (rc24): the queue settings,
    sent to the engine either way (rc24 only kept them in metadata)."""
    return QueueTrigger(topic=topic, input=input, config=config, infrastructure=infrastructure, condition=condition)


def cron(expression: str, *, condition: Any = None) -> CronTrigger:
    return CronTrigger(expression=expression, condition=condition)


def state(*, condition: Any = None) -> StateTrigger:
    return StateTrigger(condition=condition)


def stream(stream_name: str, *, group_id: str | None = None, item_id: str | None = None,
           condition: Any = None) -> StreamTrigger:
    return StreamTrigger(streamName=stream_name, group_id=group_id, item_id=item_id, condition=condition)


def _kind(trigger: Any) -> str:
    kind = trigger.get("type") if isinstance(trigger, Mapping) else getattr(trigger, "type", None)
    return TYPE_ALIASES.get(str(kind), str(kind))


def is_api_trigger(trigger: Any) -> bool:
    return _kind(trigger) == "http"


def is_queue_trigger(trigger: Any) -> bool:
    return _kind(trigger) == "queue"


def is_cron_trigger(trigger: Any) -> bool:
    return _kind(trigger) == "cron"


def is_state_trigger(trigger: Any) -> bool:
    return _kind(trigger) == "state"


def is_stream_trigger(trigger: Any) -> bool:
    return _kind(trigger) == "stream"


def _triggers(step: Any) -> list[Any]:
    config = getattr(step, "config", step)
    raw = config.get("triggers") if isinstance(config, Mapping) else getattr(config, "triggers", None)
    return list(raw or [])


def get_api_triggers(step: Any) -> list[Any]:
    return [t for t in _triggers(step) if is_api_trigger(t)]


def get_queue_triggers(step: Any) -> list[Any]:
    return [t for t in _triggers(step) if is_queue_trigger(t)]


def get_cron_triggers(step: Any) -> list[Any]:
    return [t for t in _triggers(step) if is_cron_trigger(t)]


def get_state_triggers(step: Any) -> list[Any]:
    return [t for t in _triggers(step) if is_state_trigger(t)]


def get_stream_triggers(step: Any) -> list[Any]:
    return [t for t in _triggers(step) if is_stream_trigger(t)]


def is_api_step(step: Any) -> bool:
    return bool(get_api_triggers(step))


def is_queue_step(step: Any) -> bool:
    return bool(get_queue_triggers(step))


def is_cron_step(step: Any) -> bool:
    return bool(get_cron_triggers(step))


def is_state_step(step: Any) -> bool:
    return bool(get_state_triggers(step))


def is_stream_step(step: Any) -> bool:
    return bool(get_stream_triggers(step))


# ---------------------------------------------------------------------------------- step builders

@dataclass
class StepDefinition:
    config: Any
    handler: Callable[..., Any]


class StepBuilder:
    """``step(config).handle(fn)``."""

    def __init__(self, config: Any) -> None:
        self.config = config

    def handle(self, handler: Callable[..., Any]) -> StepDefinition:
        return StepDefinition(self.config, handler)


def step(config: Any, handler: Callable[..., Any] | None = None) -> StepDefinition | StepBuilder:
    """``config = step({...}, handler)`` — pyiii registers such a module-level definition
    (Motia's CLI skipped it)."""
    return StepDefinition(config, handler) if handler is not None else StepBuilder(config)


class MultiTriggerStepBuilder:
    """One handler per trigger type; cron handlers are called ``fn(ctx)``, the others ``fn(input, ctx)``."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._handlers: dict[str, Callable[..., Any]] = {}

    def _on(self, kind: str, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        self._handlers[kind] = fn
        return self

    def on_queue(self, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("queue", fn)

    def on_http(self, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("http", fn)

    def on_cron(self, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("cron", fn)

    def on_state(self, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("state", fn)

    def on_stream(self, fn: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("stream", fn)

    def handlers(self, handlers: Mapping[str, Callable[..., Any]] | None = None) -> StepDefinition:
        table = {**self._handlers, **{TYPE_ALIASES.get(k, k): v for k, v in (handlers or {}).items()}}

        async def dispatch(input: Any, ctx: FlowContext) -> Any:
            fn = table.get(ctx.trigger.type)
            if fn is None:
                raise RuntimeError(f"no handler for trigger type {ctx.trigger.type!r}")
            return await invoke(fn, (ctx,) if ctx.trigger.type == "cron" else (input, ctx))

        return StepDefinition(self.config, dispatch)


def multi_trigger_step(config: Any) -> MultiTriggerStepBuilder:
    return MultiTriggerStepBuilder(config)


# ---------------------------------------------------------------------------------- runtime

class Motia:
    """Motia's runtime object. ``add_step``/``add_stream`` collect, ``await initialize()``
    registers the steps on the running steps worker's connection. A project run by pyiii's
    Steps runner does not need it: ``*_step.py`` / ``*_stream.py`` files are found and wired."""

    def __init__(self) -> None:
        self.steps: list[LoadedStep] = []
        self.streams: dict[str, Stream] = {}
        self.authenticate: Callable[..., Any] | None = None
        self._undo: list[Callable[[], None]] = []

    def add_step(self, config: Any, step_path: str, handler: Callable[..., Any] | None = None,
                 file_path: str | None = None) -> None:
        self.steps.append(LoadedStep(config=parse_config(config), handler=handler,
                                     file_path=Path(file_path or step_path), rel_path=step_path,
                                     module_name=""))

    def add_stream(self, config: Any, file_path: str | None = None) -> None:
        parsed = StreamConfig.from_any(config)
        self.streams[parsed.name] = Stream(parsed)

    def set_authenticate(self, fn: Callable[..., Any]) -> None:
        """Kept for the stream authentication of the project (see docs/migrating-from-motia.md)."""
        self.authenticate = fn

    async def initialize(self) -> None:
        from pyiii.steps.registration import register_step  # registration imports the adapters

        client = runtime.client()
        for loaded in self.steps:
            self._undo.append(register_step(client, loaded, self.streams).unregister)


_STEP_NAMESPACE = uuid.UUID("7f1c3ff2-9b00-4d0a-bdd7-efb8bca49d4f")


def generate_step_id(path: str) -> str:
    return str(uuid.uuid5(_STEP_NAMESPACE, path))


def setup_step_endpoint(iii: III | None = None) -> None:
    """``GET /__motia/step/:stepId`` (function ``motia_step_get``): the step whose
    ``generate_step_id(filePath)`` is ``stepId``, from the registered functions' metadata.
    Answers its metadata (never file contents); 400 without an id, 404 for an unknown one."""
    client = iii if iii is not None else runtime.client()

    async def step_get(payload: Any) -> dict[str, Any]:
        step_id = ((payload or {}).get("path_params") or {}).get("stepId")
        if not step_id:
            return {"status_code": 400, "body": {"error": "Step ID is required"}}
        listed = await client.trigger_async({"function_id": "engine::functions::list", "payload": {}})
        for fn in (listed or {}).get("functions", []):
            meta = fn.get("metadata")
            if isinstance(meta, dict) and isinstance(meta.get("filePath"), str) \
                    and generate_step_id(meta["filePath"]) == step_id:
                return {"status_code": 200, "body": {"id": step_id, **meta}}
        return {"status_code": 404, "body": {"error": "Step not found"}}

    client.register_function("motia_step_get", step_get)
    client.register_trigger({"type": "http", "function_id": "motia_step_get",
                             "config": {"api_path": "__motia/step/:stepId", "http_method": "GET"}})


def schema_to_json_schema(schema: Any) -> Any:
    """A dict is returned as is; a pydantic model class gives its JSON Schema; anything else ``None``."""
    if isinstance(schema, dict):
        return schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    return None


def get_instance() -> III:
    """The steps worker's connection (``iii.III`` in Motia)."""
    return runtime.client()


def init_iii(*_args: Any, **_kwargs: Any) -> III:
    """The runner has already connected; this returns that connection."""
    return runtime.client()


__all__ = [
    "ApiMiddleware", "ApiRequest", "ApiResponse", "ApiRouteMethod", "ApiTrigger", "ChannelReader",
    "ChannelWriter", "CronTrigger", "Enqueue", "Enqueuer", "FlowContext", "Motia", "MotiaHttpArgs",
    "MotiaHttpRequest", "MotiaHttpResponse", "MultiTriggerStepBuilder", "QueryParam", "QueueConfig",
    "QueueTrigger", "StateManager", "StateTrigger", "StateTriggerInput", "Step", "StepBuilder", "StepConfig",
    "StepDefinition", "Stream", "StreamAuthInput", "StreamAuthResult", "StreamConfig", "StreamEvent",
    "StreamSubscription", "StreamTrigger", "StreamTriggerInput", "TriggerCondition", "TriggerConfig",
    "TriggerInfo", "TriggerInput", "api", "cron", "enqueue", "generate_step_id", "get_api_triggers",
    "get_cron_triggers", "get_instance", "get_queue_triggers", "get_state_triggers", "get_stream_triggers",
    "http", "init_iii", "is_api_step", "is_api_trigger", "is_cron_step", "is_cron_trigger", "is_queue_step",
    "is_queue_trigger", "is_state_step", "is_state_trigger", "is_stream_step", "is_stream_trigger", "logger",
    "multi_trigger_step", "queue", "schema_to_json_schema", "setup_step_endpoint", "state", "stateManager",
    "step", "stream", "tracing",
]
