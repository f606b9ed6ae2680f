"""A connection's registrations held until its namespace is known (spec iii-0.23-0.25 §1.2).

A 0.23+ SDK may send its registrations before ``engine::workers::register`` names the
namespace (a reconnect replays them first). They wait here, in arrival order, and are applied
when the namespace is resolved: by that call, or (``default``) by the grace timer, by a JSON
``ping`` (an old client's barrier: "everything I sent is applied"; 0.23+ SDKs ping at the
WebSocket level only) or by a quiet connection. An SDK sends its registrations and the call in
one burst; a client that sends nothing more for ``quiet`` seconds without naming a namespace is
one that never will (0.22.1 browser SDK, raw clients), and must not wait for the whole grace
(docs/compatibility.md). Exactly one of them resolves; arrivals during the drain join the tail,
so order is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pyiii.core.namespaces import DEFAULT

log = logging.getLogger("pyiii.engine")

#: Applies one held frame (the session's handler for it).
Apply = Callable[[Any], Awaitable[None]]


class NamespaceGate(Protocol):
    """What ``engine::workers::register`` needs of a connection's session."""

    @property
    def namespace_fixed(self) -> bool:
        """The grace timer (or a ping) already filed the connection under a namespace."""

    async def resolve_namespace(self, namespace: str) -> bool:
        """Fix the namespace and apply what was held; False if it was fixed already."""

    def drop_held(self) -> None:
        """The connection was rejected: its held registrations die with it."""


class NamespaceHold:
    __slots__ = ("_apply", "_deadline", "_last", "_loop", "_on_expiry", "_queue", "_quiet", "_timer",
                 "draining", "resolved")

    def __init__(self, apply: Apply, grace_s: float, quiet_s: float, on_expiry: Callable[[str], None]) -> None:
        """``on_expiry(why)`` is called once when the grace ends or the connection went quiet."""
        self._apply = apply
        self._queue: deque[Any] = deque()
        self.resolved = False
        self.draining = False
        self._loop = asyncio.get_running_loop()
        self._on_expiry = on_expiry
        now = self._loop.time()
        self._deadline = now + grace_s
        self._quiet = quiet_s if quiet_s > 0 else grace_s
        self._last = now
        first_check = min(self._deadline, now + self._quiet)
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(first_check, self._check)

    def touch(self) -> None:
        """A frame arrived: the connection is not quiet."""
        self._last = self._loop.time()

    def _check(self) -> None:
        if self.resolved:
            return
        now = self._loop.time()
        if now >= self._deadline:
            self._on_expiry("the grace ended")
        elif now - self._last >= self._quiet:
            self._on_expiry("the connection went quiet")
        else:
            self._timer = self._loop.call_at(min(self._deadline, self._last + self._quiet), self._check)

    @property
    def holding(self) -> bool:
        """New registrations must queue (pending, or draining what came before them)."""
        return not self.resolved or self.draining

    def hold(self, msg: Any) -> None:
        self._queue.append(msg)

    def cancel(self) -> None:
        """The connection is going (or was rejected): its held registrations die with it."""
        if self._timer is not None:
            self._timer.cancel()
        self._queue.clear()
        self.resolved = True

    def claim(self) -> bool:
        """Take the one resolution (True once); the loser does nothing."""
        if self.resolved:
            return False
        self.resolved = True
        if self._timer is not None:
            self._timer.cancel()
        return True

    async def drain(self) -> None:
        """Apply the held frames head first; one that fails is logged and the rest go on."""
        self.draining = True
        try:
            while self._queue:
                msg = self._queue.popleft()
                try:
                    await self._apply(msg)
                except Exception:
                    log.exception("held %s failed", type(msg).__name__)
        finally:
            self.draining = False


__all__ = ["DEFAULT", "NamespaceHold"]
