"""The observing side's handle (spec iii-0.23-0.25 §5.3.1-§5.3.4, §5.5): what ``observe()`` returns.

The handle is kept (and its ``observe`` frame replayed with the same id on every connection)
until it is disposed. Its state comes from the engine (``observeresult``,
``observerstatechanged``) or from the SDK itself (``UNSUPPORTED``, ``UNOBSERVED``). State changes
are handed to listeners in order, off the frame-reading path, so a listener may call the client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final, cast

from .errors import ObserveRejection
from .observe_types import ObserveReason, ObserverState

log = logging.getLogger("pyiii.sdk.observe")

StateListener = Callable[[ObserverState, "ObserveReason | None"], None]

_STATES: Final = frozenset({"pending", "active", "suspended", "error", "disposed"})
UNOBSERVED: Final[ObserveReason] = {"code": "UNOBSERVED", "message": "disposed by the observing worker"}
UNSUPPORTED: Final[ObserveReason] = {
    "code": "UNSUPPORTED",
    "message": "the engine does not support observe (no observe.v1 in its features); "
    "upgrade it to 0.25 or later",
}


def to_state(value: Any) -> ObserverState:
    """A state this SDK does not know (a newer engine) reads as ``pending``."""
    return cast(ObserverState, value if value in _STATES else "pending")


class ObserverHandle:
    """An observer seen from the worker that created it. ``id`` is stable across replays."""

    def __init__(
        self,
        observer_id: str,
        message: dict[str, Any],
        on_dispose: Callable[[ObserverHandle], None],
        on_sdk_thread: Callable[[], bool],
        schedule: Callable[[Callable[[], None]], None],
    ) -> None:
        self.id = observer_id
        #: The ``observe`` frame, replayed as is on every connection.
        self.message = message
        self._on_dispose = on_dispose
        self._on_sdk_thread = on_sdk_thread
        self._schedule = schedule
        self._state: ObserverState = "pending"
        self._reason: ObserveReason | None = None
        self._fires = 0
        self._changed = threading.Condition()
        self._listeners: list[StateListener] = []
        self._undelivered: deque[tuple[ObserverState, ObserveReason | None]] = deque()
        self._delivering = False
        #: Sent on some connection: the engine may hold it, so disposing needs an ``unobserve``.
        self.sent = False

    @property
    def state(self) -> ObserverState:
        return self._state

    @property
    def reason(self) -> ObserveReason | None:
        """Why the observer is in its state (``error``, ``suspended``, ``disposed``)."""
        return self._reason

    @property
    def fires(self) -> int:
        """Activations so far, as last reported by the engine."""
        return self._fires

    def _settled(self) -> tuple[bool, ObserveRejection | None]:
        if self._state == "active":
            return True, None
        if self._state in ("error", "disposed"):
            reason = self._reason or {
                "code": "OBSERVE_FAILED" if self._state == "error" else "UNOBSERVED",
                "message": f"observer {self.id} is {self._state}",
            }
            return True, ObserveRejection(reason["code"], reason["message"])
        return False, None

    def ready(self, timeout: float | None = None) -> None:
        """Block until the observer is ``active``; :meth:`ready_async` in async code.

        Raises ObserveRejection when it turns ``error`` / ``disposed`` first, TimeoutError when
        ``timeout`` (seconds) elapses first, RuntimeError on the SDK's own loop thread."""
        if self._on_sdk_thread():
            raise RuntimeError("ObserverHandle.ready() would block the SDK loop: use await handle.ready_async()")
        with self._changed:
            if not self._changed.wait_for(lambda: self._settled()[0], timeout):
                raise TimeoutError(f"observer {self.id} is still {self._state} after {timeout}s")
            error = self._settled()[1]
        if error is not None:
            raise error

    async def ready_async(self) -> None:
        """Wait (on any event loop) until the observer is ``active``; raises ObserveRejection."""
        if not self._settled()[0]:
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()

            def settle() -> None:
                if not done.done():
                    done.set_result(None)

            def wake(_state: ObserverState, _reason: ObserveReason | None) -> None:
                if self._settled()[0]:
                    loop.call_soon_threadsafe(settle)

            off = self.on_state_change(wake)
            try:
                if not self._settled()[0]:
                    await done
            finally:
                off()
        error = self._settled()[1]
        if error is not None:
            raise error

    def on_state_change(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener(state, reason)`` on every later change, in order. Returns ``off()``."""
        self._listeners.append(listener)

        def off() -> None:
            try:
                self._listeners.remove(listener)
            except ValueError:
                pass

        return off

    def dispose(self) -> None:
        """Remove the observer (``unobserve``, queued while offline); it is no longer replayed."""
        if self._state == "disposed":
            return
        self._on_dispose(self)
        self.set_state("disposed", UNOBSERVED)

    async def dispose_async(self) -> None:
        self.dispose()

    def set_state(self, state: ObserverState, reason: ObserveReason | None = None, fires: int | None = None) -> None:
        """A state from the engine or the SDK. Nothing changes a disposed handle."""
        with self._changed:
            if self._state == "disposed":
                return
            if fires is not None:
                self._fires = fires
            changed = (state, reason) != (self._state, self._reason)
            self._state, self._reason = state, reason
            self._changed.notify_all()
            if not changed:
                return
            self._undelivered.append((state, reason))
            if self._delivering:
                return
            self._delivering = True
        self._schedule(self._deliver)

    def _deliver(self) -> None:
        while True:
            with self._changed:
                if not self._undelivered:
                    self._delivering = False
                    return
                state, reason = self._undelivered.popleft()
            for listener in list(self._listeners):
                try:
                    listener(state, reason)
                except Exception:
                    log.exception("observer %s: state listener raised", self.id)

    def __repr__(self) -> str:
        return f"ObserverHandle(id={self.id!r}, state={self._state!r})"
