"""``FlowContext``: the second argument of a step handler (Motia G1 ``ctx``, G0 ``context``)."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyiii.sdk import III, Logger, tracing
from pyiii.steps import runtime
from pyiii.steps.calls import call, on_event_loop
from pyiii.steps.services import enqueue as _enqueue
from pyiii.steps.services import stateManager
from pyiii.steps.state import StateManager
from pyiii.steps.streams import Stream


@dataclass(frozen=True)
class TriggerInfo:
    type: str
    index: int = 0
    path: str | None = None
    method: str | None = None
    topic: str | None = None
    expression: str | None = None


class Streams(dict[str, Stream]):
    """``ctx.streams["orders"]`` or ``ctx.streams.orders`` (Motia 0.x)."""

    def __getattr__(self, name: str) -> Stream:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no stream named {name!r} (declare it in a *_stream.py file)") from None


def current_trace_id() -> str:
    ctx = tracing.current()
    trace_id, _ = tracing.ids(ctx.traceparent if ctx else None)
    return trace_id or uuid.uuid4().hex


class FlowContext:
    """Per-invocation context. Services work awaited and called directly; middleware may add
    attributes (``ctx.user = ...``)."""

    def __class_getitem__(cls, _item: Any) -> type[FlowContext]:
        # Motia annotates ``FlowContext[Any]``; accept it without making every plain
        # ``ctx: FlowContext`` annotation incomplete for type checkers.
        return cls

    def __init__(
        self,
        *,
        trigger: TriggerInfo,
        input_value: Any = None,
        step_name: str = "",
        streams: Mapping[str, Stream] | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.trace_id = trace_id or current_trace_id()
        self.trigger = trigger
        self.input_value = input_value
        self.step_name = step_name
        self.logger = Logger(trace_id=self.trace_id, service_name=step_name or None)
        self.state: StateManager = stateManager
        self.streams = Streams(streams or {})

    @property
    def traceId(self) -> str:
        """``ctx.trace_id`` as Motia 0.x and the Node runtime spell it."""
        return self.trace_id

    # ---------------------------------------------------------------- services

    def enqueue(self, event: Any) -> Any:
        """``ctx.enqueue({"topic", "data", "messageGroupId"?})``."""
        return _enqueue(event)

    def emit(self, event: Any) -> Any:
        """Motia 0.x name of :meth:`enqueue` (``{"topic"|"type", "data"}``)."""
        return _enqueue(event)

    def call(self, function_id: str, payload: Any = None) -> Any:
        """Call any engine function (e.g. one a Node worker registered) and get its result."""
        return call(function_id, payload)

    @property
    def iii(self) -> III:
        """The underlying pyiii.sdk client, for anything the context does not wrap."""
        return runtime.client()

    # ---------------------------------------------------------------- trigger inspection

    def is_api(self) -> bool:
        return self.trigger.type == "http"

    is_http = is_api

    def is_queue(self) -> bool:
        return self.trigger.type == "queue"

    def is_cron(self) -> bool:
        return self.trigger.type == "cron"

    def is_state(self) -> bool:
        return self.trigger.type == "state"

    def is_stream(self) -> bool:
        return self.trigger.type == "stream"

    def get_data(self) -> Any:
        """The request body (http), nothing (cron), or the input itself."""
        if self.trigger.type == "http":
            return getattr(self.input_value, "body", None)
        if self.trigger.type == "cron":
            return None
        return self.input_value

    def match(self, handlers: Mapping[str, Callable[..., Any]]) -> Any:
        """Run the handler for this trigger type: keys ``http``/``api``, ``queue``, ``cron``,
        ``state``, ``stream``, ``default``. Cron handlers get no argument."""
        names = ("http", "api") if self.trigger.type == "http" else (self.trigger.type,)
        chosen = next((handlers[n] for n in (*names, "default") if n in handlers), None)
        if chosen is None:
            raise RuntimeError(f"ctx.match(): no handler for trigger type {self.trigger.type!r}")
        result = chosen() if self.trigger.type == "cron" else chosen(self.input_value)
        if on_event_loop():
            if inspect.isawaitable(result):
                return asyncio.ensure_future(result)
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            future.set_result(result)
            return future
        return result

    def __repr__(self) -> str:
        return f"FlowContext(step={self.step_name!r}, trigger={self.trigger.type}, trace_id={self.trace_id})"
