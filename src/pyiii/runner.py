"""Build an engine from an :class:`EngineConfig`, start its workers, stop them in reverse."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from pyiii import __version__
from pyiii.config import EngineConfig
from pyiii.core.engine import Engine
from pyiii.workers import catalog
from pyiii.workers.base import BuiltinWorker, WorkerContext

log = logging.getLogger("pyiii")


class EngineProcess:
    def __init__(self, config: EngineConfig, project_dir: Path | None = None) -> None:
        self.config = config
        self.project_dir = (project_dir or Path.cwd()).resolve()
        data_dir = config.data_dir if config.data_dir.is_absolute() else self.project_dir / config.data_dir
        self.engine = Engine(config.limits, version=__version__)
        first = config.listeners()[0] if config.listeners() else None
        port = first.config.port if first else 49134
        self.context = WorkerContext(self.project_dir, data_dir, f"ws://127.0.0.1:{port}")
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
            self.context.engine_url = f"ws://127.0.0.1:{port}"
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
