"""Module-level services (Motia G2 style): ``logger``, ``enqueue``, ``stateManager``.

    from pyiii.steps import logger, enqueue, stateManager
    await enqueue({"topic": "order.created", "data": order})   # or without await in sync code
"""

from __future__ import annotations

from typing import Any

from pyiii.sdk import Logger
from pyiii.steps import runtime
from pyiii.steps.calls import call
from pyiii.steps.state import StateManager


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) and not isinstance(value, type) else value


def enqueue(event: Any) -> Any:
    """Publish ``{"topic", "data", "messageGroupId"?}`` to a durable topic
    (``iii::durable::publish``). Also accepts Motia 0.x's ``{"type": topic, "data"}``."""
    event = _dump(event)
    if not isinstance(event, dict):
        raise TypeError("enqueue() takes {'topic': str, 'data': ...}")
    topic = event.get("topic", event.get("type"))
    if not isinstance(topic, str) or not topic:
        raise ValueError("enqueue() needs a non-empty 'topic'")
    payload: dict[str, Any] = {"topic": topic, "data": _dump(event.get("data"))}
    group = event.get("messageGroupId", event.get("message_group_id"))
    if group is not None:
        payload["messageGroupId"] = group
    return call("iii::durable::publish", payload)


class StepLogger(Logger):
    """The module-level ``logger``: its lines are named after the step whose handler runs
    (``"steps"`` outside any handler, e.g. at import time)."""

    @property
    def _service_name(self) -> str:
        return runtime.current_step.get() or "steps"

    @_service_name.setter
    def _service_name(self, _value: str) -> None:
        pass


#: Logs go to the engine (``engine::log::*``), correlated with the current invocation's trace.
logger = StepLogger()
stateManager = StateManager()
state_manager = stateManager
