"""``Connection.serve``: every message to one handler, one at a time, in order, in the serving
task, on each backend (picows runs a handler that need not wait inside the socket callback)."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from pyiii import wsio
from tests.contracts.wsio.conftest import Harness
from tests.contracts.wsio.raw import TEXT, RawClient, frame
from tests.support.waiting import eventually, stays

_seen_by: contextvars.ContextVar[str] = contextvars.ContextVar("seen_by", default="")


def _every(_message: bytes) -> bool:
    return True


async def _connected(h: Harness) -> tuple[wsio.Connection, wsio.Connection]:
    await h.start()
    client = await h.connect()
    await eventually(lambda: h.accepted, 5, what="the server to accept")
    return h.accepted[0], client


async def test_messages_are_handled_in_order_and_one_waiting_handler_holds_the_rest(harness: Harness) -> None:
    server, client = await _connected(harness)
    handled: list[bytes] = []
    release = asyncio.Event()

    async def handler(message: bytes) -> None:
        if message == b"3":
            await release.wait()
        handled.append(message)

    serving = asyncio.create_task(server.serve(handler, inline=_every))
    for n in range(1, 41):
        await client.send_text(str(n).encode())
    await eventually(lambda: handled == [b"1", b"2"], 5, what="the messages before the waiting one")
    await stays(lambda: len(handled) == 2, 0.2, what="the rest held behind the waiting handler")
    release.set()
    await eventually(lambda: len(handled) == 40, 5, what="every message")
    assert handled == [str(n).encode() for n in range(1, 41)]
    await client.close()
    with pytest.raises(wsio.ConnectionClosed):
        await asyncio.wait_for(serving, 5)


async def test_the_handler_runs_as_the_serving_task_with_its_context(harness: Harness) -> None:
    server, client = await _connected(harness)
    tasks: list[asyncio.Task[object] | None] = []
    contexts: list[str] = []

    async def handler(message: bytes) -> None:
        tasks.append(asyncio.current_task())
        contexts.append(_seen_by.get())
        _seen_by.set("handler")  # a handler's context change stays within that handler
        if message == b"wait":
            await asyncio.sleep(0)
            tasks.append(asyncio.current_task())

    async def serve() -> None:
        _seen_by.set("server")
        await server.serve(handler, inline=_every)

    serving = asyncio.create_task(serve())
    await asyncio.sleep(0)  # let serve() start waiting
    for message in (b"a", b"wait", b"b"):
        await client.send_text(message)
    await eventually(lambda: len(tasks) == 4, 5, what="every message")
    assert tasks == [serving] * 4
    assert contexts[0] == "server"
    await client.close()
    with pytest.raises(wsio.ConnectionClosed):
        await asyncio.wait_for(serving, 5)


async def test_a_handler_exception_ends_serve_with_it(harness: Harness) -> None:
    server, client = await _connected(harness)
    handled: list[bytes] = []

    async def handler(message: bytes) -> None:
        if message == b"boom":
            raise LookupError("boom")
        handled.append(message)

    serving = asyncio.create_task(server.serve(handler, inline=_every))
    await asyncio.sleep(0)
    await client.send_text(b"ok")
    await client.send_text(b"boom")
    await client.send_text(b"after")
    with pytest.raises(LookupError):
        await asyncio.wait_for(serving, 5)
    assert handled == [b"ok"]
    await client.close()


async def test_cancelling_the_serving_task_reaches_a_waiting_handler(harness: Harness) -> None:
    server, client = await _connected(harness)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(message: bytes) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    serving = asyncio.create_task(server.serve(handler, inline=_every))
    await client.send_text(b"hang")
    await asyncio.wait_for(started.wait(), 5)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    assert cancelled.is_set()
    await client.close()


async def test_picows_answers_a_lone_message_at_once_and_holds_a_bursts_answers_for_one_write() -> None:
    """The picows server writes the reply to a message that came alone in its read right away
    (a relay's latency); replies to messages that arrived together wait for the end of the loop
    turn, to leave in one write (wsio/picows_connection.py ``post_text``)."""
    h = Harness("picows", "picows")
    try:
        raw = await RawClient.open(await h.start())
        await eventually(lambda: h.accepted, 5, what="the server to accept")
        server = h.accepted[0]
        held: list[int] = []

        async def handler(message: bytes) -> None:
            server.post_text(b"re:" + message)
            held.append(server.buffered_bytes)

        serving = asyncio.create_task(server.serve(handler, inline=_every))
        await asyncio.sleep(0)  # serve() starts waiting (a loop turn, not a wait for time)
        raw.send(TEXT, b"one")
        assert await asyncio.wait_for(raw.read_until(TEXT), 5) == b"re:one"
        assert held == [0]
        raw.writer.write(frame(TEXT, b"a") + frame(TEXT, b"b"))  # one read on the server
        assert await asyncio.wait_for(raw.read_until(TEXT), 5) == b"re:a"
        assert await asyncio.wait_for(raw.read_until(TEXT), 5) == b"re:b"
        assert held[1] > 0 and held[2] > held[1]
        raw.close()
        with pytest.raises(wsio.ConnectionClosed):
            await asyncio.wait_for(serving, 5)
    finally:
        if h.server is not None:
            await h.server.close()


async def test_picows_hands_over_in_the_callback_only_what_inline_accepts() -> None:
    h = Harness("picows", "picows")
    try:
        raw = await RawClient.open(await h.start())
        await eventually(lambda: h.accepted, 5, what="the server to accept")
        server = h.accepted[0]
        held: list[tuple[bytes, int]] = []

        async def handler(message: bytes) -> None:
            server.post_text(b"re:" + message)
            held.append((message, server.buffered_bytes))

        serving = asyncio.create_task(server.serve(handler, inline=lambda m: m.startswith(b"fast")))
        await asyncio.sleep(0)  # serve() starts waiting (a loop turn, not a wait for time)
        for message in (b"fast", b"slow"):
            raw.send(TEXT, message)
            assert await asyncio.wait_for(raw.read_until(TEXT), 5) == b"re:" + message
        # written at once from the callback; held for the end of the turn from the task
        assert held[0] == (b"fast", 0) and held[1][0] == b"slow" and held[1][1] > 0
        raw.close()
        with pytest.raises(wsio.ConnectionClosed):
            await asyncio.wait_for(serving, 5)
    finally:
        if h.server is not None:
            await h.server.close()


async def test_a_timeout_that_expires_while_a_handler_waits_reaches_that_handler(harness: Harness) -> None:
    """On picows the handler's first step runs in the socket callback; a timeout it starts there
    (redis-py checks a pooled connection under ``asyncio.timeout(0)``) may fire before the
    serving task has taken the handler over. The cancellation is the handler's: it becomes its
    TimeoutError, and serve() goes on with the next message."""
    server, client = await _connected(harness)
    handled: list[bytes] = []

    async def handler(message: bytes) -> None:
        if message == b"wait":
            try:
                async with asyncio.timeout(0):  # expires on the next loop turn
                    await asyncio.get_running_loop().create_future()
            except TimeoutError:
                message = b"timed out"
        handled.append(message)

    serving = asyncio.create_task(server.serve(handler, inline=_every))
    await asyncio.sleep(0)  # let serve() start waiting
    for message in (b"wait", b"after"):
        await client.send_text(message)
    await eventually(lambda: len(handled) == 2 or serving.done(), 5, what="both messages")
    assert not serving.done(), serving
    assert handled == [b"timed out", b"after"]
    await client.close()
    with pytest.raises(wsio.ConnectionClosed):
        await asyncio.wait_for(serving, 5)


@pytest.mark.parametrize("when", ["in_its_first_step", "right_after_it"])
async def test_cancelling_the_serving_task_around_a_handlers_first_step_reaches_that_handler(
    harness: Harness, when: str
) -> None:
    """On picows the serving task still waits on its wake-up future then, not on the handler's:
    the cancellation must reach the handler all the same."""
    server, client = await _connected(harness)
    waited_on: list[asyncio.Future[None]] = []
    cancelled = asyncio.Event()

    async def handler(message: bytes) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        if when == "in_its_first_step":
            task.cancel()
        else:
            loop.call_soon(task.cancel)  # before the serving task resumes (on picows)
        waited_on.append(loop.create_future())
        try:
            await waited_on[0]
        except asyncio.CancelledError:
            cancelled.set()
            raise

    serving = asyncio.create_task(server.serve(handler, inline=_every))
    await asyncio.sleep(0)
    await client.send_text(b"hang")
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(serving, 5)
    assert cancelled.is_set()
    assert waited_on[0].cancelled()  # as a task cancels the future it waits on
    await client.close()
