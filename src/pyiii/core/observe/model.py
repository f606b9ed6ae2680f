"""An observer and its lifecycle states (spec iii-0.23-0.25 §5.1, §5.5)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pyiii.core.observe.events import Event
    from pyiii.core.peer import Peer
    from pyiii.observe_filter import Filter

PENDING: Final = "pending"
ACTIVE: Final = "active"
SUSPENDED: Final = "suspended"
ERROR: Final = "error"
DISPOSED: Final = "disposed"

#: ``on`` values and which event statuses each accepts (spec §5.7).
ON_ACCEPTS: Final[dict[str, frozenset[str]]] = {
    "success": frozenset(("success",)),
    "error": frozenset(("error",)),
    "complete": frozenset(("success", "error")),
}
CAPTURE_PARTS: Final = frozenset(("input", "output", "error", "caller", "metadata"))
DEFAULT_CAPTURE: Final = ("input", "output", "caller")
DELIVER_MODES: Final = frozenset(("envelope", "input", "output"))

# Reason codes of engine-made transitions (spec §5.13 leaves them to the engine; docs/observe.md).
SOURCE_GONE: Final = "SOURCE_UNAVAILABLE"
TARGET_GONE: Final = "TARGET_UNAVAILABLE"
MAX_FIRES: Final = "MAX_FIRES_REACHED"
EXPIRED: Final = "EXPIRED"
OWNER_TIMEOUT: Final = "OWNER_TIMEOUT"
OBSERVER_GONE: Final = "OBSERVER_DISCONNECTED"


@dataclass(slots=True)
class ObserveSpec:
    """A validated ``observe`` frame: what the observer is, not how it is doing."""

    id: str
    source_ns: str
    source_id: str
    target_ns: str
    target_id: str
    filter: Filter
    capture: tuple[str, ...] = DEFAULT_CAPTURE
    on: str = "success"
    deliver: str = "envelope"
    args: dict[str, Any] | None = None
    #: The ``metadata`` option as the observer sent it (``has_metadata`` False: not set).
    metadata: Any = None
    has_metadata: bool = False
    max_fires: int | None = None
    expires_in_ms: int | None = None
    max_in_flight: int | None = None
    #: Set by the legacy trigger shim (spec §5.11).
    legacy: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class Observer:
    """One observer: its spec, its observing connection and its running state."""

    spec: ObserveSpec
    #: The observing connection (None: created by the engine itself).
    peer: Peer | None
    state: str = PENDING
    reason: tuple[str, str] | None = None
    #: Started activations (``max_fires`` counts these).
    fires: int = 0
    in_flight: int = 0
    #: Events waiting for a free ``max_in_flight`` slot, with an ``obs.call``'s reply if any.
    queue: deque[tuple[Event, asyncio.Future[Any] | None]] = field(default_factory=deque)
    dropped: int = 0
    #: Revision at which the owner was last sent this observer (0: never).
    revision: int = 0
    #: The owner acked it at ``revision`` (an active observer of an observe.v1 owner).
    acked: bool = False
    #: The source's v1 owner holds it (an ``observeradded`` or ``functionregistered`` named it):
    #: its end must reach the owner as ``observerremoved``.
    offered: bool = False
    #: Firing is over (``max_fires`` reached): disposed once the in-flight ones finish.
    exhausted: bool = False
    expiry: asyncio.TimerHandle | None = None
    ack_timer: asyncio.TimerHandle | None = None
    created_at_ms: int = 0

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def source(self) -> tuple[str, str]:
        return self.spec.source_ns, self.spec.source_id

    @property
    def target(self) -> tuple[str, str]:
        return self.spec.target_ns, self.spec.target_id

    @property
    def live(self) -> bool:
        return self.state != DISPOSED

    def info(self) -> dict[str, Any]:
        """The ObserverInfo an owner sees (spec §5.3.7): never metadata, policy or observer."""
        spec = self.spec
        out: dict[str, Any] = {
            "id": spec.id, "args": spec.args or {}, "filters": spec.filter.normal_form,
            "target": spec.target_id, "capture": list(spec.capture), "on": spec.on,
        }
        if spec.legacy is not None:
            out["legacy"] = spec.legacy
        return out

    def row(self) -> dict[str, Any]:
        """What ``engine::observers::list`` shows of it."""
        spec = self.spec
        return {
            "id": spec.id, "namespace": spec.source_ns,
            "source": {"function_id": spec.source_id, "namespace": spec.source_ns},
            "target": {"function_id": spec.target_id, "namespace": spec.target_ns},
            "state": self.state, "fires": self.fires, "in_flight": self.in_flight, "queued": len(self.queue),
            "dropped": self.dropped, "on": spec.on, "capture": list(spec.capture), "deliver": spec.deliver,
            "worker_id": self.peer.worker_id if self.peer is not None else None,
            "worker_name": self.peer.metadata.name if self.peer is not None else None,
            "reason": {"code": self.reason[0], "message": self.reason[1]} if self.reason else None,
            "created_at_ms": self.created_at_ms,
        }
