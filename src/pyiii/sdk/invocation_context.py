"""The invocation a handler runs in, visible to the code it calls (spec iii-0.23-0.25 §5.3.9, §5.9).

Set around every handler, routed or local, and read by outgoing calls (``caller``,
``observe_depth``), by local dispatch (the nesting cap) and by ``obs.emit`` / ``obs.call``. A
``ContextVar`` follows asyncio tasks, and sync handlers run in a copy of the caller's context
(``handlers.wrap_handler``), so it reaches them too.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class ActiveInvocation:
    """Internal: everything the SDK needs about the running invocation."""

    function_id: str
    invocation_id: str
    observe_depth: int = 0
    caller: dict[str, Any] | None = None
    activation: dict[str, Any] | None = None
    #: The invocation's metadata sidecar (what an emitted event's filters see as ``metadata``).
    metadata: Any = None
    traceparent: str | None = None
    baggage: str | None = None
    #: How many local (in-process) calls this one is nested in; 0 for a routed invocation.
    local_depth: int = 0


@dataclass(frozen=True)
class InvocationContext:
    """What ``current_invocation()`` returns: the public view of the running invocation.

    ``caller`` is ``{worker_id?, worker_name?, function_id?, invocation_id?, parent?}`` (``None``
    when unknown); ``activation`` is ``{observer_id, activation_id?}`` when this invocation is an
    observer's activation; ``observe_depth`` counts observe hops in the causal chain.
    """

    function_id: str
    invocation_id: str
    observe_depth: int = 0
    caller: dict[str, Any] | None = None
    activation: dict[str, Any] | None = None


_CURRENT: contextvars.ContextVar[ActiveInvocation | None] = contextvars.ContextVar(
    "pyiii_current_invocation", default=None
)


def active() -> ActiveInvocation | None:
    return _CURRENT.get()


def running(invocation: ActiveInvocation) -> _Running:
    """Make ``invocation`` current for the duration of a handler: ``with running(ctx):``."""
    return _Running(invocation)


class _Running:
    """A plain class: a generator context manager costs several times more, once per invocation."""

    __slots__ = ("_invocation", "_token")

    def __init__(self, invocation: ActiveInvocation) -> None:
        self._invocation = invocation

    def __enter__(self) -> None:
        self._token = _CURRENT.set(self._invocation)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            _CURRENT.reset(self._token)
        except ValueError:  # a coroutine closed outside its task (shutdown): nothing to restore
            pass


def current_invocation() -> InvocationContext | None:
    """The invocation the calling code runs in (any handler, routed or local), else ``None``."""
    cur = _CURRENT.get()
    if cur is None:
        return None
    return InvocationContext(cur.function_id, cur.invocation_id, cur.observe_depth, cur.caller, cur.activation)
