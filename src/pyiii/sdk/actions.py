"""How a ``trigger()`` call is routed: sync (no action), void, or enqueue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from ..protocol import Action, EnqueueAction, VoidAction


@dataclass(frozen=True)
class TriggerActionVoid:
    """Fire and forget: no invocation id, no reply, ``trigger()`` returns ``None``."""

    type: Literal["void"] = "void"


@dataclass(frozen=True)
class TriggerActionEnqueue:
    """Route through a named queue; ``trigger()`` returns ``{"messageReceiptId": ...}``."""

    queue: str
    type: Literal["enqueue"] = "enqueue"


class TriggerAction:
    """Factory mirroring iii-sdk: ``TriggerAction.Void()``, ``TriggerAction.Enqueue(queue=)``."""

    @staticmethod
    def Enqueue(*, queue: str) -> TriggerActionEnqueue:
        return TriggerActionEnqueue(queue=queue)

    @staticmethod
    def Void() -> TriggerActionVoid:
        return TriggerActionVoid()


@dataclass
class TriggerRequest:
    """The argument of ``trigger()`` when not given as a dict."""

    function_id: str
    payload: Any = None
    action: TriggerActionEnqueue | TriggerActionVoid | None = None
    timeout_ms: int | None = None
    metadata: Any = None
    #: iii 0.23+: the namespace ``function_id`` runs in (None: the worker's; see sdk/namespaces.py).
    namespace: str | None = None
    #: iii 0.25: ``"auto"`` (default: a confirmed own function runs in-process) or ``"remote"``.
    dispatch: Literal["auto", "remote"] | None = None


class EnqueueResult(TypedDict):
    messageReceiptId: str


@dataclass
class MiddlewareFunctionInput:
    """What an RBAC middleware function receives (spec §6.4)."""

    function_id: str
    payload: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    action: TriggerActionEnqueue | TriggerActionVoid | None = None


def request_fields(request: Any) -> dict[str, Any]:
    """Accept a dict, our :class:`TriggerRequest`, or any pydantic-like request object."""
    if isinstance(request, dict):
        return request
    if isinstance(request, TriggerRequest):
        return {
            "function_id": request.function_id,
            "payload": request.payload,
            "action": request.action,
            "timeout_ms": request.timeout_ms,
            "metadata": request.metadata,
            "namespace": request.namespace,
            "dispatch": request.dispatch,
        }
    dump = getattr(request, "model_dump", None)
    if callable(dump):
        # Keep ``action`` as the object: model_dump would flatten it to a dict, which also
        # works, but the object keeps the original intent visible in errors.
        fields: dict[str, Any] = dump()
        return fields
    raise TypeError(f"trigger request must be a dict or TriggerRequest, got {type(request).__name__}")


def wire_action(action: Any) -> Action | None:
    """Map any accepted spelling of an action to its wire struct."""
    if action is None:
        return None
    if isinstance(action, dict):
        kind, queue = action.get("type"), action.get("queue")
    else:
        kind, queue = getattr(action, "type", None), getattr(action, "queue", None)
    kind = getattr(kind, "value", kind)  # tolerate enums
    if kind == "void":
        return VoidAction()
    if kind == "enqueue":
        if not isinstance(queue, str):
            raise ValueError("an enqueue action needs a queue name")
        return EnqueueAction(queue=queue)
    raise ValueError(f"unknown trigger action {action!r}")
