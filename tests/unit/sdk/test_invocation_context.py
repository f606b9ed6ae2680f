"""``current_invocation()`` (spec iii-0.23-0.25 §5.3.9): set around a handler, gone after it."""

from __future__ import annotations

import asyncio
import contextvars

from pyiii.sdk import current_invocation
from pyiii.sdk.invocation_context import ActiveInvocation, active, running


async def test_the_context_follows_tasks_and_copied_contexts_and_is_reset() -> None:
    inv = ActiveInvocation("a::f", "i-1", observe_depth=2, caller={"worker_id": "w"},
                           activation={"observer_id": "o"}, metadata={"m": 1}, local_depth=3)
    assert current_invocation() is None
    with running(inv):
        public = current_invocation()
        assert public is not None
        assert (public.function_id, public.invocation_id, public.observe_depth) == ("a::f", "i-1", 2)
        assert public.caller == {"worker_id": "w"} and public.activation == {"observer_id": "o"}
        assert not hasattr(public, "metadata")  # the sidecar stays internal
        assert await asyncio.create_task(_seen()) is inv
        assert contextvars.copy_context().run(active) is inv  # what a sync handler's thread gets
    assert current_invocation() is None


async def _seen() -> ActiveInvocation | None:
    return active()


def test_running_nests_and_is_reset_when_the_handler_raises() -> None:
    outer, inner = ActiveInvocation("a::f", "i-1"), ActiveInvocation("a::g", "i-2", local_depth=1)
    with running(outer):
        try:
            with running(inner):
                assert active() is inner
                raise KeyError("handler failed")
        except KeyError:
            pass
        assert active() is outer
    assert active() is None
