"""One consumer per internal queue binding: receive (push), call, ack / retry / dead-letter.

Outcomes of a call:

* success -> ack (the message leaves storage);
* an error from the handler (or a timeout) -> one attempt used: retry after backoff, or the
  dead-letter queue once ``max_attempts`` attempts failed;
* ``invocation_stopped`` / ``channel_send_failed`` (the worker died or is leaving) -> given back
  without using an attempt, counted in ``interruptions``; ``max_interruptions`` of them in a row
  dead-letter the message (a poison message that kills its worker cannot loop forever);
* ``function_not_found`` -> the message is parked (still leased, lease renewed) and runs as soon
  as the function is registered again; no attempt used.

FIFO queues keep order per message group: each group has a lane that runs its messages one at
a time and retries inline, so a failing message blocks its group until success or the DLQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from pyiii.core import FunctionError
from pyiii.core import error_codes as E
from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.message import Delivery, QueueMessage
from pyiii.workers.queue.policy import DeliveryPolicy

log = logging.getLogger("pyiii.queue")

Invoke = Callable[[QueueMessage], Awaitable[Any]]
#: ``(namespace, function_id)``: the function a message runs, where it runs (spec iii-0.23-0.25 §1.11).
FunctionKey = tuple[str, str]
_INTERRUPTED = (E.INVOCATION_STOPPED, E.CHANNEL_SEND_FAILED)


@dataclass(slots=True)
class ConsumerSettings:
    lease_ms: int = 30_000
    max_interruptions: int = 10
    max_parked: int = 10_000
    #: Pause after the store failed, before receiving again.
    error_pause_s: float = 1.0
    #: Pause before re-running a message whose worker disconnected (fifo lanes).
    interrupted_pause_s: float = 0.05


class Consumer:
    def __init__(
        self,
        adapter: QueueAdapter,
        queue: str,
        policy: DeliveryPolicy,
        invoke: Invoke,
        function_of: Callable[[QueueMessage], FunctionKey],
        function_exists: Callable[[FunctionKey], bool],
        settings: ConsumerSettings,
        fixed_function: FunctionKey | None = None,
    ) -> None:
        self.adapter = adapter
        self.queue = queue
        self.policy = policy
        self._invoke = invoke
        self._function_of = function_of
        self._function_exists = function_exists
        self.settings = settings
        #: The one function a subscriber consumer calls: receiving waits while it is missing.
        self.fixed_function = fixed_function
        self._held: dict[str, Delivery] = {}
        self._busy = 0
        self._parked: dict[FunctionKey, list[Delivery]] = {}
        self._wake = asyncio.Event()
        self._lanes: dict[str, asyncio.Queue[Delivery]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.processed = 0
        self.failed = 0

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name=f"queue-consumer:{self.queue}")
        self._heartbeat = asyncio.create_task(self._renew_leases(), name=f"queue-lease:{self.queue}")

    async def stop(self, cancel_running: bool = False) -> None:
        """Stop receiving. Running handlers finish and settle their messages unless
        ``cancel_running`` (engine shutdown): then their leases simply lapse."""
        for task in (self._runner, self._heartbeat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        parked = [d for ds in self._parked.values() for d in ds]
        self._parked.clear()
        for d in parked:
            self._held.pop(d.message.id, None)
            with contextlib.suppress(Exception):
                await self.adapter.release(d, 0, interrupted=False)
        if cancel_running:
            for task in list(self._tasks):
                task.cancel()
        # Otherwise running handlers settle their messages on their own; not waiting for them
        # keeps a disconnect cleanup (which calls this) from blocking on slow handlers.

    def functions_changed(self) -> None:
        """The function registry changed: run parked messages whose function is back."""
        for key in [f for f in self._parked if self._function_exists(f)]:
            for d in self._parked.pop(key):
                self._busy += 1
                self._spawn(self._handle(d))
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._held)

    # ------------------------------------------------------------- receiving

    def _parked_count(self) -> int:
        return sum(len(v) for v in self._parked.values())

    def _can_receive(self) -> bool:
        if self.policy.concurrency <= 0 or self._busy >= self.policy.concurrency:
            return False
        if self._parked_count() >= self.settings.max_parked:
            return False
        return self.fixed_function is None or self._function_exists(self.fixed_function)

    async def _run(self) -> None:
        while True:
            while not self._can_receive():
                self._wake.clear()
                if self._can_receive():
                    break
                await self._wake.wait()
            try:
                batch = await self.adapter.receive(self.queue, self.policy.concurrency - self._busy,
                                                   self.settings.lease_ms)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("queue %s: receive failed; retrying in %.1f s", self.queue, self.settings.error_pause_s)
                await asyncio.sleep(self.settings.error_pause_s)
                continue
            for d in batch:
                self._held[d.message.id] = d
                self._busy += 1
                if self.policy.fifo:
                    self._to_lane(d)
                else:
                    self._spawn(self._handle(d))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        # one task per message: the receiving task's loop is ours, without get_running_loop's getpid()
        loop = self._runner.get_loop() if self._runner is not None else asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _done(self, d: Delivery, parked: bool = False) -> None:
        self._busy -= 1
        if not parked:
            self._held.pop(d.message.id, None)
        self._wake.set()

    async def _renew_leases(self) -> None:
        period = max(self.settings.lease_ms / 3000, 0.05)
        while True:
            await asyncio.sleep(period)
            if self._held:
                try:
                    await self.adapter.extend(list(self._held.values()), self.settings.lease_ms)
                except Exception:
                    log.exception("queue %s: lease renewal failed", self.queue)

    # ------------------------------------------------------------- standard delivery

    async def _handle(self, d: Delivery) -> None:
        parked = False
        try:
            try:
                await self._invoke(d.message)
            except FunctionError as exc:
                parked = await self._failed(d, exc)
            else:
                self.processed += 1
                await self.adapter.ack(d)
        except Exception:
            # The store failed to settle the message: its lease lapses and it comes back.
            log.exception("queue %s: could not settle message %s", self.queue, d.message.id)
        finally:
            self._done(d, parked)

    async def _failed(self, d: Delivery, exc: FunctionError) -> bool:
        """Settle a failed call; returns True when the message was parked."""
        message = d.message
        if exc.code == E.FUNCTION_NOT_FOUND:
            key = self._function_of(message)
            if not self._function_exists(key):
                self._parked.setdefault(key, []).append(d)
                log.info("queue %s: %s is not registered in namespace %s; message %s waits for it", self.queue,
                         key[1], key[0], message.id)
                return True
        if exc.code in _INTERRUPTED:
            await self.adapter.settle_interrupted(d, self.settings.max_interruptions, exc.code)
            return False
        self.failed += 1
        if await self.adapter.settle_failed(d, self.policy, f"{exc.code}: {exc.message}"):
            log.warning("queue %s: message %s failed %d time(s), moved to the DLQ: %s", self.queue, message.id,
                        message.attempts + 1, exc)
        return False

    # ------------------------------------------------------------- fifo lanes

    def _group_of(self, message: QueueMessage) -> str:
        if message.group_id is not None:
            return message.group_id
        if self.policy.group_field:
            data = message.decoded_data()
            if isinstance(data, dict) and data.get(self.policy.group_field) is not None:
                return str(data[self.policy.group_field])
        return ""

    def _to_lane(self, d: Delivery) -> None:
        group = self._group_of(d.message)
        lane = self._lanes.get(group)
        if lane is None:
            lane = self._lanes[group] = asyncio.Queue()
            self._spawn(self._run_lane(group, lane))
        lane.put_nowait(d)

    async def _run_lane(self, group: str, lane: asyncio.Queue[Delivery]) -> None:
        try:
            while not lane.empty():
                d = lane.get_nowait()
                try:
                    await self._handle_in_order(d)
                except Exception:
                    log.exception("queue %s: could not settle message %s", self.queue, d.message.id)
                finally:
                    self._done(d)
        finally:
            if self._lanes.get(group) is lane:
                del self._lanes[group]

    async def _handle_in_order(self, d: Delivery) -> None:
        """Run one message to completion (success or DLQ) before the next of its group."""
        attempts = d.message.attempts
        interruptions = d.message.interruptions
        while True:
            try:
                await self._invoke(d.message)
            except FunctionError as exc:
                if exc.code == E.FUNCTION_NOT_FOUND and not self._function_exists(self._function_of(d.message)):
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                if exc.code in _INTERRUPTED:
                    interruptions += 1
                    if interruptions < self.settings.max_interruptions:
                        await asyncio.sleep(self.settings.interrupted_pause_s)
                        continue
                    await self.adapter.dead_letter(d, f"{exc.code}: interrupted {interruptions} times")
                    return
                self.failed += 1
                attempts += 1
                # The same decision as settle_failed, but the retry waits here: the lane holds
                # its group until this message succeeds or is dead-lettered.
                delay_ms = self.policy.retry_delay_ms(attempts)
                if delay_ms is None:
                    d.message.attempts = attempts - 1  # dead_letter counts the final attempt
                    await self.adapter.dead_letter(d, f"{exc.code}: {exc.message}")
                    return
                await asyncio.sleep(delay_ms / 1000)
                continue
            self.processed += 1
            await self.adapter.ack(d)
            return
