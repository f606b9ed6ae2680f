"""Build an engine from an :class:`EngineConfig`, start its workers, stop them in reverse;
:func:`serve` runs one until SIGINT/SIGTERM (``pyiii`` and ``pyiii dev/start``)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pyiii import __version__
from pyiii.config import EngineConfig
from pyiii.core.engine import Engine
from pyiii.hosts import LOOPBACK, connect_host
from pyiii.workers import catalog
from pyiii.workers.base import BuiltinWorker, WorkerContext

log = logging.getLogger("pyiii")


class EngineProcess:
    def __init__(self, config: EngineConfig, project_dir: Path | None = None) -> None:
        self.config = config
        self.project_dir = (project_dir or Path.cwd()).resolve()
        data_dir = config.data_dir if config.data_dir.is_absolute() else self.project_dir / config.data_dir
        self.engine = Engine(config.limits, version=__version__)
        self.engine.triggers.provider_hint = catalog.provider_of
        first = config.listeners()[0] if config.listeners() else None
        port = first.config.port if first else 49134
        self.local_host = connect_host(first.config.host) if first else LOOPBACK
        self.context = WorkerContext(self.project_dir, data_dir, f"ws://{self.local_host}:{port}")
        self.workers: list[BuiltinWorker] = []
        self.started_in: float = 0.0

    async def start(self) -> None:
        begin = time.perf_counter()
        for entry in self.config.workers:
            cls = catalog.load(entry.kind)
            worker = cls(self.engine, entry.config, entry.entry_id, self.context)
            await worker.start()
            self.workers.append(worker)
        listener = next((w for w in self.workers if w.kind == "iii-worker-manager"), None)
        if listener is not None:
            port = listener.endpoints()[0].rsplit(":", 1)[1]
            self.context.engine_url = f"ws://{self.local_host}:{port}"
        self.started_in = time.perf_counter() - begin
        self.engine.ready = True

    async def stop(self, grace: float = 5.0) -> None:
        """Drain in-flight work for up to ``grace`` seconds, fail what is left, close sockets."""
        await self.engine.shutdown(grace)
        for worker in reversed(self.workers):
            try:
                await asyncio.wait_for(worker.stop(), grace)
            except Exception:
                log.exception("worker %s did not stop cleanly", worker.entry_id)

    def banner(self) -> str:
        lines = [f"pyiii {__version__} ready in {self.started_in * 1000:.0f} ms"]
        width = max((len(w.entry_id) for w in self.workers), default=0)
        for worker in self.workers:
            where = ", ".join(worker.endpoints()) or "in-process"
            lines.append(f"  {worker.entry_id.ljust(width)}  {where}")
        return "\n".join(lines)


class Companion(Protocol):
    """Something that runs next to the engine once it accepts workers (the steps worker)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve(process: EngineProcess, *, grace: float,
                companion: Callable[[str], Companion] | None = None) -> int:
    """Start ``process``, print the banner, then ``companion(engine_url)`` if given; on SIGINT or
    SIGTERM stop the companion, then drain the engine for up to ``grace`` seconds.

    Returns the exit status: 1 if the engine could not start (a port in use), else 0.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await process.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        await process.stop(0)
        return 1
    print(process.banner(), file=sys.stderr, flush=True)
    extra = companion(process.context.engine_url) if companion is not None else None
    if extra is not None:
        await extra.start()
    await stop.wait()
    log.info("shutting down (grace %.0f s)", grace)
    if extra is not None:
        await extra.stop()
    await process.stop(grace)
    return 0
