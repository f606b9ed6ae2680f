"""Public types of observe (spec iii-0.23-0.25 §5): the observer's source, options and envelope,
and the hooks a function registers to learn who observes it. Names and fields as iii-sdk 0.25."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Union

if TYPE_CHECKING:
    from .owner import Observer

Capture = Literal["input", "output", "error", "caller", "metadata"]
#: ``pending`` (no owner yet, waiting for its ack, or no target yet) → ``active`` or ``error``;
#: ``suspended`` while its worker or target is away; ``disposed`` at the end.
ObserverState = Literal["pending", "active", "suspended", "error", "disposed"]
#: A filter over ``input``/``output``/``error``/``caller``/``metadata``: ``{"input.a": {"$gte": 5}}``.
Filter = dict[str, Any]
Delivery = Literal["auto", "owner"]


class TargetRef(TypedDict, total=False):
    function_id: str
    namespace: str


#: A registered function id, or ``{function_id, namespace?}``.
Target = Union[str, TargetRef]


class ObserveReason(TypedDict):
    code: str
    message: str


class CallerParent(TypedDict, total=False):
    worker_id: str
    worker_name: str
    function_id: str
    invocation_id: str


class Caller(CallerParent, total=False):
    parent: CallerParent


class Observed(TypedDict, total=False):
    """What the target receives with ``deliver: "envelope"`` (fields outside ``capture`` absent)."""

    observer_id: str
    activation_id: str
    function_id: str
    namespace: str
    invocation_id: str
    status: Literal["success", "error"]
    input: Any
    output: Any
    error: dict[str, Any]
    caller: Caller
    metadata: Any
    started_at_ms: int
    duration_ms: float


class _SourceRequired(TypedDict):
    function_id: str


class ObserveSource(_SourceRequired, total=False):
    namespace: str
    args: dict[str, Any]
    filters: Filter
    on: Literal["success", "error", "complete"]
    capture: list[Capture]
    deliver: Literal["envelope", "input", "output"]


class ObserverOptions(TypedDict, total=False):
    id: str
    max_fires: int
    expires_in_ms: int
    max_in_flight: int
    metadata: dict[str, Any]


ObserveHook = Callable[["Observer"], Union[Awaitable[None], None]]

_UNSET: Any = object()


class ObserveHooks:
    """The ``observe=`` option of ``register_function``.

    Only ``delivery``, ``args_format``, ``legacy_trigger_type`` and ``allow`` travel to the engine;
    the callbacks stay here. ``on_observer_added`` runs before the observer is acked: raising
    :class:`~pyiii.sdk.ObserveRejection` rejects it with that code, any other exception with
    ``OBSERVE_REJECTED``, running over 30 s with ``OWNER_TIMEOUT``. ``on_observer_removed`` cannot
    fail (errors are logged). Attributes may also be set by a subclass.
    """

    delivery: Delivery | None = None
    args_format: Any = None
    legacy_trigger_type: str | None = None
    allow: bool | None = None
    on_observer_added: ObserveHook | None = None
    on_observer_removed: ObserveHook | None = None

    def __init__(
        self,
        *,
        delivery: Delivery | None = _UNSET,
        args_format: Any = _UNSET,
        legacy_trigger_type: str | None = _UNSET,
        allow: bool | None = _UNSET,
        on_observer_added: ObserveHook | None = _UNSET,
        on_observer_removed: ObserveHook | None = _UNSET,
    ) -> None:
        given = {
            "delivery": delivery, "args_format": args_format, "legacy_trigger_type": legacy_trigger_type,
            "allow": allow, "on_observer_added": on_observer_added, "on_observer_removed": on_observer_removed,
        }
        for name, value in given.items():
            if value is not _UNSET:
                setattr(self, name, value)

    @classmethod
    def from_value(cls, value: ObserveHooks | dict[str, Any] | None) -> ObserveHooks | None:
        if value is None or isinstance(value, ObserveHooks):
            return value
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"observe must be an ObserveHooks or a dict, got {type(value).__name__}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(delivery={self.delivery!r}, allow={self.allow!r})"
