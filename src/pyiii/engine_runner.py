"""Build an engine from an :class:`EngineConfig`, start its workers, stop them in reverse;
:func:`serve` runs one until SIGINT/SIGTERM (``pyiii`` and ``pyiii dev/start``)."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, cast

from pyiii._version import __version__
from pyiii.bind import config_place, how_to_move
from pyiii.core.engine import Engine
from pyiii.core.host import Host
from pyiii.engine_config import EngineConfig, WorkerEntry
from pyiii.hosts import LOOPBACK, connect_host
from pyiii.workers import catalog
from pyiii.workers.base import BuiltinWorker, WorkerContext

log = logging.getLogger("pyiii")

#: Seconds the workers started before a failed start get to stop.
FAILED_START_GRACE = 2.0


class ListenError(OSError):
    """A worker could not open its port: which worker, where, why, and what moves it."""

    def __init__(self, entry: WorkerEntry, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.entry = entry
        self.cause = cause

    def one_line(self) -> str:
        entry = self.entry
        host = getattr(entry.config, "host", "") or "*"
        where = f"{host}:{entry.config.port}"
        if self.cause.errno == errno.EADDRINUSE:
            return (f"cannot start {entry.entry_id}: port {entry.config.port} ({where}) is already in use; "
                    f"move it with {how_to_move(entry)}")
        place = config_place(entry) if "host" in entry.named else "--host H"
        return (f"cannot start {entry.entry_id}: cannot listen on {where}: {self.cause.strerror or self.cause}; "
                f"check its host ({place})")


class InProcessEngine:
    """An engine and the built-in workers its config lists, run in this process (``pyiii``,
    ``pyiii dev/start``). Tests that need a separate process use tests/support/engine.EngineProcess."""

    def __init__(self, config: EngineConfig, project_dir: Path | None = None) -> None:
        self.config = config
        self.project_dir = (project_dir or Path.cwd()).resolve()
        data_dir = config.data_dir if config.data_dir.is_absolute() else self.project_dir / config.data_dir
        self.engine = Engine(config.limits, version=__version__)
        self.engine.triggers.provider_hint = catalog.provider_of
        #: What every built-in worker gets instead of the engine.
        self.host = Host(self.engine)
        first = config.listeners()[0] if config.listeners() else None
        port = first.config.port if first else 49134
        self.local_host = connect_host(first.config.host) if first else LOOPBACK
        self.context = WorkerContext(self.project_dir, data_dir, f"ws://{self.local_host}:{port}")
        self.workers: list[BuiltinWorker] = []
        self.started_in: float = 0.0

    async def _start_worker(self, entry: WorkerEntry) -> BuiltinWorker:
        cls = catalog.load(entry.kind)
        worker = cls(self.host, entry.config, entry.entry_id, self.context)
        try:
            await worker.start()
        except OSError as exc:
            await _quietly(worker.stop(), FAILED_START_GRACE)  # whatever it opened before failing
            if isinstance(getattr(entry.config, "port", None), int):
                raise ListenError(entry, exc) from exc
            raise
        return worker

    async def start(self) -> None:
        begin = time.perf_counter()
        for entry in self.config.workers:
            self.workers.append(await self._start_worker(entry))
        listener = next((w for w in self.workers if w.kind == "iii-worker-manager"), None)
        if listener is not None:
            port = listener.endpoints()[0].rsplit(":", 1)[1]
            self.context.engine_url = f"ws://{self.local_host}:{port}"
        self.started_in = time.perf_counter() - begin
        self.engine.ready = True

    async def add_workers(self, entries: list[WorkerEntry]) -> list[BuiltinWorker]:
        """Start more workers in the running engine (``pyiii dev`` after config.yaml gained entries):
        a trigger type they provide picks up the bindings parked for it. If one cannot start, the
        ones this call started are stopped and the error is raised."""
        added: list[BuiltinWorker] = []
        try:
            for entry in sorted(entries, key=lambda e: catalog.start_rank(e.kind)):
                added.append(await self._start_worker(entry))
        except BaseException:
            for worker in reversed(added):
                await self._retire(worker, FAILED_START_GRACE)
            raise
        self.workers += added
        self.config.workers += entries
        self.config.workers.sort(key=lambda e: catalog.start_rank(e.kind))
        return added

    async def remove_workers(self, entry_ids: set[str], grace: float = FAILED_START_GRACE) -> None:
        """Stop workers of the running engine and take back what they registered: their trigger types
        (the bindings are parked, same ids, for the next provider), their functions and shutdown
        hooks. Only for workers that register nothing else (devserver.RESTARTABLE)."""
        for worker in [w for w in reversed(self.workers) if w.entry_id in entry_ids]:
            await self._retire(worker, grace)
            self.workers.remove(worker)
        self.config.workers = [e for e in self.config.workers if e.entry_id not in entry_ids]

    async def _retire(self, worker: BuiltinWorker, grace: float) -> None:
        """Take back a worker's trigger types (bindings parked), functions and shutdown hooks; stop it."""
        for tt in [t for t in self.engine.triggers.providers.values() if cast(object, t.provider) is worker]:
            await self.engine.triggers.remove_type(tt.id, None, tt.namespace)
        record = self.engine.in_process_workers.pop(worker.entry_id, None)
        for function_id in record.functions if record is not None else ():
            self.engine.unregister_function(function_id)
        self.engine.before_shutdown[:] = [h for h in self.engine.before_shutdown
                                          if getattr(h, "__self__", None) is not worker]
        try:
            await asyncio.wait_for(worker.stop(), grace)
        except Exception:
            log.exception("worker %s did not stop cleanly", worker.entry_id)

    async def stop(self, grace: float = 5.0, *, quiet: bool = False) -> None:
        """Drain in-flight work for up to ``grace`` seconds, fail what is left, close sockets.
        ``quiet``: a worker that does not stop cleanly is logged at debug level (a failed start)."""
        await self.engine.shutdown(grace)
        for worker in reversed(self.workers):
            if quiet:
                await _quietly(worker.stop(), max(grace, 0.5))
                continue
            try:
                await asyncio.wait_for(worker.stop(), max(grace, 0.5))
            except Exception:
                log.exception("worker %s did not stop cleanly", worker.entry_id)
        self.workers.clear()

    def banner(self) -> str:
        lines = [f"pyiii {__version__} ready in {self.started_in * 1000:.0f} ms"]
        width = max((len(w.entry_id) for w in self.workers), default=0)
        for worker in self.workers:
            where = ", ".join(worker.endpoints()) or "in-process"
            lines.append(f"  {worker.entry_id.ljust(width)}  {where}")
        return "\n".join(lines)


async def _quietly(stopping: Awaitable[None], timeout: float) -> None:
    try:
        await asyncio.wait_for(stopping, timeout)
    except Exception as exc:
        log.debug("stopping after a failed start: %r", exc)


async def start_or_report(process: InProcessEngine) -> bool:
    """Start ``process``; if it cannot, log one line (which worker, which port, which flag moves it),
    stop what started (quietly, with a small grace) and return False."""
    try:
        await process.start()
    except ListenError as exc:
        log.error("%s", exc.one_line())
    except OSError as exc:
        log.error("cannot start: %s", exc)
    else:
        return True
    await process.stop(FAILED_START_GRACE, quiet=True)
    return False


class Companion(Protocol):
    """Something that runs next to the engine once it accepts workers (the steps worker)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve(process: InProcessEngine, *, grace: float,
                companion: Callable[[str], Companion] | None = None) -> int:
    """Start ``process``, print the banner, then ``companion(engine_url)`` if given; on SIGINT or
    SIGTERM stop the companion, then drain the engine for up to ``grace`` seconds.

    Returns the exit status: 1 if the engine could not start (a port in use), else 0.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not await start_or_report(process):
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
