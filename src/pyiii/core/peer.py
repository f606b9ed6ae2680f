"""A connected remote worker as the core sees it: an id, what it owns, and a way to send.

The transport layer subclasses :class:`Peer` and implements :meth:`Peer.send_frame`; the core
never touches sockets. What a peer's frames do is its :class:`~pyiii.core.session.Session`'s.
"""

from __future__ import annotations

import abc
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyiii.core.access import Access
from pyiii.core.namespaces import DEFAULT

if TYPE_CHECKING:
    from pyiii.core.namespace_hold import NamespaceGate


@dataclass(slots=True)
class LocalStats:
    """Totals of a worker's ``localinvocationstats`` reports (spec iii-0.23-0.25 §3.4)."""

    invocations: int = 0
    errors: int = 0
    duration_ms_sum: float = 0.0
    #: Reports its SDK dropped (``dropped_reports``), by reason (BUFFER_FULL, TOO_LARGE, ...).
    dropped_reports: dict[str, int] = field(default_factory=dict)
    reports: int = 0


@dataclass(slots=True)
class WorkerMetadata:
    """What a worker reports through ``engine::workers::register`` (spec §4.1)."""

    runtime: str = "unknown"
    version: str | None = None
    name: str | None = None
    description: str | None = None
    os: str | None = None
    pid: int | None = None
    isolation: str | None = None
    telemetry: dict[str, Any] = field(default_factory=dict)


class Peer(abc.ABC):
    """One worker connection. Holds the sets the disconnect cleanup walks (spec §3.11)."""

    def __init__(
        self,
        worker_id: str,
        reattach_token: str,
        *,
        ip_address: str | None = None,
        listener: str = "main",
        access: Access | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.reattach_token = reattach_token
        self.ip_address = ip_address
        self.listener = listener
        self.access = access or Access.permissive()
        self.connected_at_ms = int(time.time() * 1000)
        self.metadata = WorkerMetadata()
        self.functions: set[str] = set()
        #: The trigger types it provides, as provider keys ``(namespace, type id)``.
        self.trigger_types: set[tuple[str, str]] = set()
        self.triggers: set[str] = set()
        #: Invocation ids this peer is executing or waiting on (engine-side ids).
        self.inflight: set[str] = set()
        #: Calls waiting on this peer, counted per caller (a Peer, or the in-process key).
        self.pending_by_caller: dict[object, int] = {}
        self.connected = True
        #: The connection's namespace (spec iii-0.23-0.25 §1.2): fixed once, by
        #: ``engine::workers::register`` or the grace timer; what it owns is registered there.
        self.namespace: str = DEFAULT
        #: Its register payload carried ``namespace`` or ``features`` (a 0.23+ SDK): the
        #: first-owner-wins and one-worker-per-name rules apply to it (docs/compatibility.md D1/D2).
        self.namespace_aware = False
        #: ``features`` of its register payload (0.25), as declared.
        self.features: tuple[str, ...] = ()
        #: The features both sides listed (core/features.py): which frames and fields it gets.
        #: Empty until ``engine::workers::register`` (a connection that never makes that call,
        #: or whose call was refused, is a pre-0.25 worker).
        self.shared_features: frozenset[str] = frozenset()
        #: The largest message the engine sends it (core/message_size.py); set at connect and
        #: whenever it reports its metadata or features.
        self.max_message_bytes: int = sys.maxsize
        #: What its ``localinvocationstats`` reported (calls it ran in-process, spec §3.4).
        self.local_stats = LocalStats()
        #: Its namespace went to default because it named none in time (the grace timer): it
        #: is a pre-0.25 worker whatever it declares later (spec iii-0.23-0.25 §2.1).
        self.namespace_timed_out = False
        #: It proved to be in default (a call or binding without namespace, a ping) before it
        #: reported a runtime: every official SDK reports first, so it is a browser or a raw
        #: client, not a 1 MiB reader (spec iii-0.23-0.25 §2.4; core/message_size.py).
        self.spoke_before_reporting = False
        #: Its session's hold of early registrations (None: nothing held, the namespace is fixed).
        self.namespace_gate: NamespaceGate | None = None

    @property
    def display_name(self) -> str:
        return self.metadata.name or self.worker_id

    @abc.abstractmethod
    async def send_frame(self, frame: bytes) -> None:
        """Send one protocol frame (a JSON text frame). Raises ``ConnectionError`` if closed."""

    def post_frame(self, frame: bytes) -> bool:
        """Queue one frame to go out without waiting, for a caller that holds no task (the
        invoker's fire-and-forget calls). False: this peer cannot, the caller awaits
        :meth:`send_frame` instead. Raises ``ConnectionError`` if closed."""
        return False

    @abc.abstractmethod
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the underlying connection; the transport then runs the engine cleanup."""
