"""The observing side's handle (spec iii-0.23-0.25 §5.5): settling, listeners, disposal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pyiii.sdk import ObserveRejection
from pyiii.sdk.observer_handle import ObserverHandle, to_state


def make(on_sdk_thread: bool = False) -> tuple[ObserverHandle, list[str]]:
    disposed: list[str] = []

    def run_now(fn: Callable[[], None]) -> None:
        fn()

    handle = ObserverHandle("o-1", {"type": "observe", "id": "o-1"}, lambda h: disposed.append(h.id),
                            lambda: on_sdk_thread, run_now)
    return handle, disposed


def test_unknown_states_read_as_pending() -> None:
    assert to_state("hibernating") == "pending" and to_state("active") == "active"


async def test_ready_settles_on_active_and_raises_on_error() -> None:
    handle, _ = make()
    waiter = asyncio.ensure_future(handle.ready_async())
    await asyncio.sleep(0)
    assert not waiter.done()
    handle.set_state("active")
    await asyncio.wait_for(waiter, 1)

    failed, _ = make()
    failed.set_state("error", {"code": "FORBIDDEN", "message": "no"})
    with pytest.raises(ObserveRejection) as err:
        failed.ready(timeout=1)
    assert (err.value.code, err.value.message) == ("FORBIDDEN", "no")
    nameless, _ = make()
    nameless.set_state("error")
    with pytest.raises(ObserveRejection) as err:
        nameless.ready(timeout=1)
    assert err.value.code == "OBSERVE_FAILED"


def test_ready_times_out_and_refuses_the_sdk_thread() -> None:
    handle, _ = make()
    with pytest.raises(TimeoutError):
        handle.ready(timeout=0.01)
    on_loop, _ = make(on_sdk_thread=True)
    with pytest.raises(RuntimeError):
        on_loop.ready()


def test_listeners_see_each_change_once_in_order_and_dispose_is_final() -> None:
    handle, disposed = make()
    seen: list[tuple[str, Any]] = []
    off = handle.on_state_change(lambda state, reason: seen.append((state, reason)))
    handle.set_state("active")
    handle.set_state("active")  # no change, no call
    handle.set_state("suspended", {"code": "GONE", "message": "away"}, fires=3)
    assert seen == [("active", None), ("suspended", {"code": "GONE", "message": "away"})]
    assert handle.fires == 3
    handle.dispose()
    handle.dispose()
    assert disposed == ["o-1"] and handle.state == "disposed"
    assert handle.reason is not None and handle.reason["code"] == "UNOBSERVED"
    handle.set_state("active")  # nothing revives a disposed handle
    assert handle.state == "disposed"
    off()
