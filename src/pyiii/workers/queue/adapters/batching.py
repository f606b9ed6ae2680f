"""Group commit: settle operations made close together in one round trip to the store.

Every caller awaits its own result, so nothing is reported done before the store confirmed it;
the batch is the operations submitted in one event-loop turn plus those that arrived while the
previous flush was in flight (one flush at a time, so batches grow with load and a lone
operation still costs one round trip). A flush either raises (every operation of the batch
failed) or returns one error-or-None per operation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


Flush = Callable[[list[T]], Awaitable[Sequence[Exception | None] | None]]


class GroupCommit(Generic[T]):
    def __init__(self, flush: Flush[T], max_batch: int = 1024) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Returns once the flush containing ``item`` succeeded; raises what the flush raised."""
        runner = self._runner
        # under load a flush is running: its loop is ours (get_running_loop costs a getpid() call)
        loop = runner.get_loop() if runner is not None else asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._pending.append((item, fut))
        if runner is None:
            self._runner = loop.create_task(self._run())
        await fut

    async def _run(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
                try:
                    errors = await self._flush([item for item, _ in batch])
                except Exception as exc:
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                            fut.exception()  # a cancelled caller never reads it
                except BaseException:
                    # the runner itself was cancelled (loop shutting down): nobody may wait forever
                    for _, fut in batch + self._pending:
                        fut.cancel()
                    self._pending = []
                    raise
                else:
                    for i, (_, fut) in enumerate(batch):
                        if fut.done():
                            continue
                        error = errors[i] if errors is not None else None
                        if error is None:
                            fut.set_result(None)
                        else:
                            fut.set_exception(error)
                            fut.exception()
        finally:
            self._runner = None

    async def drain(self) -> None:
        """Wait for the operations submitted so far (shutdown)."""
        while self._runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._runner)
