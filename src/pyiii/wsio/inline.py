"""Running a message handler's first step inside the socket callback, the rest in a task.

A message that wakes a reader task costs a future, a task switch and a loop turn before its
handler runs. Most engine frames (a call forwarded, a result passed back) never wait: their
handler finishes in its first step. :func:`first_step` runs that step right away; when the
handler does have to wait (flow control, a registration hook), :func:`rest_of` lets the reader
task take the coroutine over exactly where it stopped. The first step runs *as a step of the
reader task* (``asyncio.current_task()`` is that task, as ``asyncio.timeout`` and the invoker's
timers need) and every step runs in one ``contextvars.Context``, as the steps of a task do.

Between the first step and the take-over the task still waits on the future that woke it, not
on what the handler waits on. A cancellation of the task in that gap (``asyncio.timeout``
expiring: redis-py checks a pooled connection under ``timeout(0)``, which fires on the next
loop turn) lands in the reader task instead of the handler; the reader passes it on with
``rest_of(..., cancelled=)``, as a task would have: the handler's future is cancelled and the
handler gets the CancelledError at its ``await``.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from asyncio import tasks as _tasks
from collections.abc import Coroutine, Generator
from typing import Any


class Suspended:
    """A handler that stopped at an ``await``: its coroutine and what its first step yielded."""

    __slots__ = ("coro", "yielded")

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        self.coro = coro
        self.yielded = yielded


def first_step(
    context: contextvars.Context,
    loop: asyncio.AbstractEventLoop,
    task: asyncio.Task[Any],
    coro: Coroutine[Any, Any, None],
) -> Suspended | None:
    """Run ``coro`` as a step of ``task`` (on ``loop``, waiting, not running) until it finishes
    (None) or waits (its :class:`Suspended`); its exception propagates."""
    # What Task.__step does around each step (asyncio's own helpers, also used by its eager tasks).
    _tasks._enter_task(loop, task)
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return None
    finally:
        _tasks._leave_task(loop, task)
    return Suspended(coro, yielded)


@types.coroutine
def rest_of(
    context: contextvars.Context,
    suspended: Suspended | Coroutine[Any, Any, None],
    cancelled: BaseException | None = None,
) -> Generator[Any, Any, None]:
    """Await this to finish a suspended handler (or run one from its start) in the awaiting task:
    what it yields goes to the task (which waits on it), what the task sends or throws back goes
    to the handler. ``cancelled``: the task was cancelled before it took the suspended handler
    over; the handler gets it, as if the task had been waiting on its future (module doc)."""
    try:
        if isinstance(suspended, Suspended):
            coro, yielded = suspended.coro, suspended.yielded
            if cancelled is not None:
                if asyncio.isfuture(yielded):
                    # What Task.cancel does to the future its task waits on.
                    yielded.cancel(cancelled.args[0] if cancelled.args else None)
                yielded = context.run(coro.throw, cancelled)
        else:
            coro = suspended
            yielded = context.run(coro.send, None)
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation of the task reaches the handler
                yielded = context.run(coro.throw, exc)
            else:
                yielded = context.run(coro.send, sent)
    except StopIteration:
        return
