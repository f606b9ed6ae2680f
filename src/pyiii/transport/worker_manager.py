"""``iii-worker-manager``: one WebSocket listener per config entry (spec/protocol.md §6.1).

The transport's entry in the worker lifecycle: it is started and stopped like every built-in
worker (last, see its manifest's start rank), so it subclasses ``workers.base.BuiltinWorker``, the
one thing the transport takes from the workers layer (an exception the import contract lists).
Its listeners feed frames into the engine itself: it alone takes the engine from its host, through
``Host.engine_for_transport`` (the import contract allows that in ``pyiii.transport`` only).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pyiii.core import Host
from pyiii.transport.listener import Listener, ListenerConfig
from pyiii.transport.manifest import MANIFEST
from pyiii.workers.base import BuiltinWorker, WorkerContext

#: How often stale data channels are swept (a side never connected within the TTL).
CHANNEL_SWEEP_SECONDS = 60.0


class WorkerManager(BuiltinWorker):
    manifest = MANIFEST
    description = "WebSocket listener that workers connect to."
    config_type = ListenerConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        # The listeners are the transport: they feed frames into the engine itself.
        self.listener = Listener(host.engine_for_transport, config, name=entry_id)
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.listener.start()
        if "#" not in self.entry_id:
            self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.listener.stop()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(CHANNEL_SWEEP_SECONDS)
            self.host.sweep_channels()

    def endpoints(self) -> list[str]:
        host = self.config.host
        return [f"ws://{host}:{self.listener.port}"]
