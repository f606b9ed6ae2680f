"""The owner side of observe (spec iii-0.23-0.25 §3.1, §5.3.6, §5.6): one function's observer set.

The engine sends the full set in ``functionregistered`` and deltas in ``observeradded`` /
``observerremoved``; a delta counts only if its revision is above the last one accepted. Every
observer given is acked with ``observerack`` (``error`` when a hook or its filter refused it).
Hooks of one function run one at a time in revision order; one still running after the timeout
no longer holds the next ones back. Everything here runs on the client's loop thread, except the
public ``Observer`` methods a handler calls (they go through the host).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .errors import InvocationError, ObserveRejection
from .filter_gate import InvalidFilter, Matcher, compile_observer_filter
from .observe_types import ObserveHook, ObserveHooks
from .observe_wire import DEFAULT_CAPTURE, decode_reason

log = logging.getLogger("pyiii.sdk.observe")

#: How long an ``on_observer_added`` hook may run before the observer is rejected (spec §5.6).
HOOK_TIMEOUT_S: Final = 30.0


class OwnerHost(Protocol):
    """What an observer set needs from the client."""

    def send_ack(self, frame: dict[str, Any]) -> None: ...

    def run_hook(self, hook: ObserveHook, obs: Observer) -> Awaitable[None]: ...

    def spawn(self, coro: Awaitable[Any]) -> None: ...

    @property
    def hook_timeout_s(self) -> float: ...

    def emit(self, owner: FunctionObservers, obs: Observer, event: Any) -> bool: ...

    def call(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any: ...

    async def call_async(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any: ...


@dataclass(frozen=True)
class ObserverInfo:
    """What the owner is told of an observer (§5.3.7), read leniently."""

    id: str
    args: dict[str, Any]
    filters: Any
    target: str
    capture: tuple[str, ...]
    on: str
    legacy: dict[str, Any] | None

    @classmethod
    def from_wire(cls, value: Any) -> ObserverInfo:
        v = value if isinstance(value, dict) else {}
        args = v.get("args")
        capture = v.get("capture")
        legacy = v.get("legacy")
        return cls(
            id=v["id"] if isinstance(v.get("id"), str) else "",
            args=args if isinstance(args, dict) else {},
            filters=v.get("filters") if v.get("filters") is not None else {},
            target=v["target"] if isinstance(v.get("target"), str) else "",
            capture=tuple(c for c in capture if isinstance(c, str)) if isinstance(capture, list) else DEFAULT_CAPTURE,
            on=v["on"] if isinstance(v.get("on"), str) else "success",
            legacy={"trigger_type": legacy.get("trigger_type"), "config": legacy.get("config")}
            if isinstance(legacy, dict) else None,
        )

    def same_identity(self, other: ObserverInfo) -> bool:
        """Changed ``args`` or ``legacy`` make it another observer (removed + added, hooks rerun)."""
        return self.args == other.args and self.legacy == other.legacy


def on_accepts(on: str, ok: bool) -> bool:
    return on == "complete" or (on == "success" and ok) or (on == "error" and not ok)


class Observer:
    """An observer of a function this worker hosts, as its hooks and handler see it."""

    def __init__(self, owner: FunctionObservers, info: ObserverInfo, matcher: Matcher, revision: int) -> None:
        self._owner = owner
        self.info = info
        self.matcher = matcher
        #: Revision of the last message that listed it (what its ack carries).
        self.revision = revision
        #: None while its added-hook runs; then True (acked OK) or False (rejected).
        self.accepted: bool | None = None
        #: A late rejection (``reject()``), repeated in acks until the engine removes it.
        self.rejection: dict[str, str] | None = None

    id = property(lambda self: self.info.id)
    args = property(lambda self: self.info.args)
    filters = property(lambda self: self.info.filters)
    target = property(lambda self: self.info.target)
    capture = property(lambda self: list(self.info.capture))
    on = property(lambda self: self.info.on)
    legacy = property(lambda self: self.info.legacy)

    @property
    def function_id(self) -> str:
        return self._owner.function_id

    def matches(self, doc: Mapping[str, Any]) -> bool:
        try:
            return self.matcher.matches(doc)
        except Exception:  # evaluation is total: a failure is "no match"
            return False

    def emit(self, event: Any) -> bool:
        """Owner delivery: hand ``event`` to this observer's target (fire and forget). False when it
        does not pass the observer's filters. Raises ``NOT_OWNER_DELIVERED`` / ``OBSERVER_NOT_ACTIVE``."""
        self._owner.require_owner_delivery(self, "emit")
        return self._owner.host.emit(self._owner, self, event)

    def call(self, payload: Any, *, timeout_ms: int | None = None) -> Any:
        """Owner delivery: invoke the target with ``payload`` and return its result."""
        self._owner.require_owner_delivery(self, "call")
        return self._owner.host.call(self, payload, timeout_ms)

    async def call_async(self, payload: Any, *, timeout_ms: int | None = None) -> Any:
        self._owner.require_owner_delivery(self, "call")
        return await self._owner.host.call_async(self, payload, timeout_ms)

    def reject(self, code: str, message: str) -> None:
        """Refuse an observer already accepted; the engine then removes it (and the removal hook runs)."""
        self._owner.reject_late(self, code, message)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "function_id": self.function_id, "args": self.args, "filters": self.filters,
               "target": self.target, "capture": self.capture, "on": self.on}
        if self.legacy is not None:
            out["legacy"] = self.legacy
        return out

    def __repr__(self) -> str:
        return f"Observer(id={self.id!r}, function_id={self.function_id!r}, target={self.target!r})"


class FunctionObservers:
    """One hosted function's engine confirmation, local-dispatch flag and observer set."""

    def __init__(
        self, function_id: str, hooks: ObserveHooks | None, local_dispatch: bool, has_handler: bool, host: OwnerHost
    ) -> None:
        self.function_id = function_id
        self.hooks = hooks
        self.host = host
        self._local_option = local_dispatch
        self._has_handler = has_handler
        self.namespace: str | None = None
        #: Generation of the connection whose ``functionregistered`` confirmed it (0: not confirmed).
        self.confirmed_on = 0
        self.local_dispatch = False
        self.revision: int | None = None
        self.held: dict[str, Observer] = {}
        self._tail: asyncio.Future[None] | None = None
        self.disposed = False

    @property
    def delivery(self) -> str:
        return (self.hooks.delivery if self.hooks else None) or "auto"

    def active(self) -> list[Observer]:
        return [o for o in self.held.values() if o.accepted and o.rejection is None]

    def is_observed(self) -> bool:
        return bool(self.active())

    # ------------------------------------------------------------------ engine messages

    def on_function_registered(
        self, namespace: str, revision: int, local_dispatch: bool, observers: list[Any], generation: int
    ) -> None:
        self.confirmed_on = generation
        self.namespace = namespace
        self.revision = revision
        self.local_dispatch = bool(local_dispatch) and self._local_option and self._has_handler
        infos = [ObserverInfo.from_wire(v) for v in observers if isinstance(v, dict)]
        wanted = {i.id: i for i in infos if i.id}
        for observer_id in [k for k in self.held if k not in wanted]:
            self._remove(observer_id)
        for info in wanted.values():
            current = self.held.get(info.id)
            if current is not None and current.info.same_identity(info):
                self._keep(current, info, revision)  # a held rejection is repeated, not rerun
            else:
                if current is not None:
                    self._remove(info.id)
                self._add(info, revision)

    def on_observer_added(self, namespace: str, revision: Any, observer: Any) -> None:
        if not self._fresh(revision):
            return
        self.namespace = namespace or self.namespace
        info = ObserverInfo.from_wire(observer)
        if not info.id:
            return
        current = self.held.get(info.id)
        if current is not None and current.info.same_identity(info) and current.rejection is None:
            self._keep(current, info, revision)
            return
        if current is not None:
            self._remove(info.id)
        self._add(info, revision)

    def on_observer_removed(self, revision: Any, observer_id: str) -> None:
        if self._fresh(revision):
            self._remove(observer_id)

    def _fresh(self, revision: Any) -> bool:
        """The revision rule: a delta must exceed the last accepted revision."""
        if isinstance(revision, bool) or not isinstance(revision, int):
            return False
        if self.revision is not None and revision <= self.revision:
            log.debug("%s: stale observer revision %s (have %s) ignored", self.function_id, revision, self.revision)
            return False
        self.revision = revision
        return True

    def on_rejected(self) -> None:
        """``FUNCTION_NAMESPACE_CONFLICT``: not ours on this connection; no local dispatch, no observers."""
        self.confirmed_on = 0
        self.local_dispatch = False
        for observer_id in list(self.held):
            self._remove(observer_id)
        self.revision = None

    def on_disconnect(self) -> None:
        """The connection is gone: the next ``functionregistered`` confirms again (local dispatch stays)."""
        self.confirmed_on = 0

    def dispose(self) -> None:
        self.disposed = True
        self.on_rejected()

    # ------------------------------------------------------------------ set changes

    def _ack(self, obs: Observer, error: dict[str, str] | None = None) -> None:
        frame: dict[str, Any] = {"type": "observerack", "function_id": self.function_id, "id": obs.id,
                                 "revision": obs.revision}
        if self.namespace is not None:
            frame["namespace"] = self.namespace
        if error is not None:
            frame["error"] = error
        self.host.send_ack(frame)

    def _keep(self, obs: Observer, info: ObserverInfo, revision: int) -> None:
        """Still there: take the engine's filters/target/capture/on silently and re-ack."""
        obs.revision = revision
        if info != obs.info:
            try:
                obs.matcher = compile_observer_filter(info.filters)
            except InvalidFilter as exc:
                obs.info = info
                self._refuse(obs, {"code": InvalidFilter.code, "message": exc.message})
                return
            obs.info = info
        if obs.accepted is None:
            return  # its hook still runs: the ack follows when it is done
        if obs.accepted:
            self._ack(obs, obs.rejection)
        else:
            self._ack(obs, obs.rejection or {"code": "OBSERVE_REJECTED", "message": "rejected by the owner"})

    def _add(self, info: ObserverInfo, revision: int) -> None:
        try:
            matcher = compile_observer_filter(info.filters)
        except InvalidFilter as exc:
            obs = Observer(self, info, compile_observer_filter(None), revision)
            self.held[info.id] = obs
            self._refuse(obs, {"code": InvalidFilter.code, "message": exc.message})
            return
        obs = Observer(self, info, matcher, revision)
        self.held[info.id] = obs
        hook = self.hooks.on_observer_added if self.hooks else None
        if hook is None:
            obs.accepted = True  # active before its ack: reports may name it right after
            self._ack(obs)
            return
        self._enqueue(lambda: self._run_added(obs, hook))

    def _refuse(self, obs: Observer, error: dict[str, str]) -> None:
        obs.accepted = False
        obs.rejection = error
        self._ack(obs, error)

    async def _run_added(self, obs: Observer, hook: ObserveHook) -> None:
        error = await self._guarded(hook, obs)
        if self.held.get(obs.id) is not obs:
            return  # removed while the hook ran
        if error is None and obs.rejection is None:
            obs.accepted = True
            self._ack(obs)
        else:  # the hook raised, or called obs.reject() itself: that rejection wins
            self._refuse(obs, error or obs.rejection or {"code": "OBSERVE_REJECTED", "message": "rejected"})

    async def _guarded(self, hook: ObserveHook, obs: Observer) -> dict[str, str] | None:
        task = asyncio.ensure_future(self.host.run_hook(hook, obs))
        done, _ = await asyncio.wait({task}, timeout=self.host.hook_timeout_s)
        if not done:
            task.add_done_callback(_log_late)
            return {"code": "OWNER_TIMEOUT", "message": f"on_observer_added did not finish within "
                                                         f"{self.host.hook_timeout_s:g}s"}
        try:
            task.result()
        except ObserveRejection as rejection:
            return {"code": rejection.code, "message": rejection.message}
        except BaseException as exc:  # cancelled included: a hook that did not finish refuses
            log.warning("%s: on_observer_added raised for %s: %r", self.function_id, obs.id, exc)
            return {"code": "OBSERVE_REJECTED", "message": str(exc) or type(exc).__name__}
        return None

    def _remove(self, observer_id: str) -> None:
        obs = self.held.pop(observer_id, None)
        if obs is None:
            return
        was_accepted = obs.accepted
        obs.accepted = False
        hook = self.hooks.on_observer_removed if self.hooks else None
        if hook is not None and was_accepted is not False:
            self._enqueue(lambda: self._run_removed(obs, hook))

    async def _run_removed(self, obs: Observer, hook: ObserveHook) -> None:
        try:
            await self.host.run_hook(hook, obs)
        except Exception:
            log.exception("%s: on_observer_removed raised for %s", self.function_id, obs.id)

    def _enqueue(self, step: Callable[[], Awaitable[None]]) -> None:
        """Hooks of one function run one at a time, in the order the engine's messages came."""
        previous = self._tail

        async def run() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await step()

        self._tail = asyncio.ensure_future(run())
        self.host.spawn(self._tail)

    def reject_late(self, obs: Observer, code: str, message: str) -> None:
        if self.held.get(obs.id) is not obs or obs.rejection is not None:
            return
        obs.rejection = decode_reason({"code": code, "message": message})
        if obs.accepted is None:
            return  # its added-hook is running: the ack that follows it carries the rejection
        self._ack(obs, obs.rejection)

    # ------------------------------------------------------------------ owner delivery checks

    def require_owner_delivery(self, obs: Observer, what: str) -> None:
        if self.delivery != "owner":
            raise InvocationError("NOT_OWNER_DELIVERED", f"obs.{what}: {self.function_id} is not owner-delivered",
                                  function_id=self.function_id)
        if self.held.get(obs.id) is not obs or not obs.accepted or obs.rejection is not None:
            raise InvocationError("OBSERVER_NOT_ACTIVE", f"obs.{what}: observer {obs.id} is not active",
                                  function_id=self.function_id)


def _log_late(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("on_observer_added finished with %r after its timeout", task.exception())
