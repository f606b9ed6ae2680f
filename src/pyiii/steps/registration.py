"""A loaded step → engine functions and triggers (Motia 1.0.4 naming), and back.

For trigger *i* of step *N*: function ``steps::<N>::trigger::<suffix>`` with the step's
metadata (so a console can draw Python flows too), an optional condition function
``<function id>::conditions::<i>``, and one trigger of the engine's type for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyiii.sdk import III
from pyiii.steps.adapters import condition_function, handler_function, noop_function
from pyiii.steps.model import LoadedStep
from pyiii.steps.schemas import to_json_schema
from pyiii.steps.step_config import TriggerDef
from pyiii.steps.streams import Stream

T = TypeVar("T")

#: Steps trigger type → engine trigger type.
ENGINE_TRIGGER_TYPES = {"http": "http", "queue": "durable:subscriber", "cron": "cron", "state": "state",
                        "stream": "stream"}


@dataclass
class Registered:
    """Everything one step registered; :meth:`unregister` takes it all back."""

    function_ids: list[str] = field(default_factory=list)
    undo: list[Callable[[], None]] = field(default_factory=list)

    def unregister(self) -> None:
        # Triggers first (they were registered last), then functions.
        for fn in reversed(self.undo):
            fn()
        self.undo.clear()


def noop_function_id(name: str) -> str:
    return f"steps::{name}::noop"


def function_ids(step: LoadedStep) -> list[str]:
    """One id per trigger; a step without triggers (a noop step) has the one of
    :func:`noop_function_id`, which no trigger calls."""
    if not step.config.triggers:
        return [noop_function_id(step.config.name)]
    ids: list[str] = []
    for t in step.config.triggers:
        fid = f"steps::{step.config.name}::trigger::{t.suffix}"
        ids.append(f"{fid}::{t.index}" if fid in ids else fid)
    return ids


def trigger_config(t: TriggerDef, condition_id: str | None) -> dict[str, Any]:
    config: dict[str, Any]
    if t.type == "http":
        assert t.path is not None
        config = {"api_path": t.path.lstrip("/") or "/", "http_method": t.method}
    elif t.type == "queue":
        config = {"topic": t.topic}
        if t.queue_config:
            config["queue_config"] = t.queue_config
    elif t.type == "cron":
        config = {"expression": t.expression}
        if t.timezone:
            config["timezone"] = t.timezone
    elif t.type == "state":
        config = {k: v for k, v in (("scope", t.scope), ("key", t.key)) if v is not None}
    else:
        config = {"stream_name": t.stream_name}
        config.update({k: v for k, v in (("group_id", t.group_id), ("item_id", t.item_id)) if v is not None})
    if condition_id is not None:
        config["condition_function_id"] = condition_id
    return config


def register_step(client: III, step: LoadedStep, streams: Mapping[str, Stream]) -> Registered:
    done = Registered()
    metadata = step.config.metadata(step.rel_path)
    if not step.config.triggers:
        # A noop step (Motia ``type: "noop"`` or ``triggers: []``): code-less, drawn in Flows
        # with its virtual edges. Its function carries the metadata the console draws from.
        fid = noop_function_id(step.config.name)
        ref = client.register_function(fid, noop_function(step, streams), description=step.config.description,
                                       metadata=metadata)
        done.function_ids.append(fid)
        done.undo.append(ref.unregister)
        return done
    try:
        for t, fid in zip(step.config.triggers, function_ids(step), strict=True):
            ref = client.register_function(
                fid,
                handler_function(step, t, streams),
                description=step.config.description,
                metadata=metadata,
                request_format=to_json_schema(t.body_schema if t.type == "http" else t.input),
                response_format=None,
            )
            done.function_ids.append(fid)
            done.undo.append(ref.unregister)
            condition_id: str | None = None
            if t.condition is not None:
                condition_id = f"{fid}::conditions::{t.index}"
                cref = client.register_function(condition_id, condition_function(step, t, streams),
                                                metadata={"step": step.config.name, "internal": True})
                done.undo.append(cref.unregister)
            trigger = client.register_trigger({
                "type": ENGINE_TRIGGER_TYPES[t.type],
                "function_id": fid,
                "config": trigger_config(t, condition_id),
                "metadata": {"step": step.config.name, "filePath": step.rel_path, "trigger": t.describe()},
            })
            done.undo.append(trigger.unregister)
    except Exception:
        done.unregister()
        raise
    return done


def on_client_loop(client: III, fn: Callable[[], T]) -> T:
    """Run ``fn`` on the client's loop thread and wait for it.

    Each ``register_*``/``unregister`` made from another thread wakes the SDK loop (a
    self-pipe write and a GIL hand-over, ~0.3-1 ms under load); made on the loop thread they
    are queued directly, so a batch of registrations costs one wake-up instead of thousands.
    """
    loop = client._loop  # the SDK has no public hook for this yet
    if threading.current_thread() is client._thread or loop.is_closed():
        return fn()
    done: Future[T] = Future()

    def run() -> None:
        if done.set_running_or_notify_cancel():
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed back to the caller's thread
                done.set_exception(exc)

    loop.call_soon_threadsafe(run)
    while True:
        try:
            return done.result(timeout=1)
        except TimeoutError:
            # A loop closed under us never runs ``run``: take the batch back and do it here.
            if loop.is_closed() and done.cancel():
                return fn()
