"""``iii-exec``: run the app's processes, restart them on file changes and crashes, and never
leave one behind (spec/workers.md §12; see README.md for what pyiii adds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from pyiii.core import Host
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.exec import MANIFEST, motia, process
from pyiii.workers.exec.config import ExecConfig
from pyiii.workers.exec.globs import GlobSet

log = logging.getLogger("pyiii.exec")

#: A process that ran at least this long before exiting starts again without backoff.
HEALTHY_RUN_S = 10.0


class ExecWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Runs the app's processes; restarts them on file changes and crashes."
    config_type = ExecConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.cfg: ExecConfig = config
        self.cwd = str((context.project_dir / (self.cfg.cwd or ".")).resolve())
        self._restart = asyncio.Event()
        self._stopping = False
        self._current: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        #: How many times the pipeline was (re)started; visible for tests and the console.
        self.starts = 0
        #: The commands run: ``exec`` with a Motia runner replaced when motia is not runnable.
        self.commands: list[str | list[str]] = list(self.cfg.exec)

    async def start(self) -> None:
        if not self.cfg.enabled:
            log.info("%s is disabled (enabled: false): its commands do not run", self.entry_id)
            return
        if not self.cfg.exec:
            log.warning("iii-exec has no `exec` commands; nothing to run")
            return
        self._tasks.append(asyncio.create_task(self._supervise()))
        if self.cfg.watch:
            self._tasks.append(asyncio.create_task(self._watch()))

    async def stop(self) -> None:
        self._stopping = True
        self._restart.set()
        if self._current is not None:
            await process.stop(self._current, self.cfg.stop_grace_ms / 1000)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def endpoints(self) -> list[str]:
        if not self.cfg.enabled:
            return ["disabled"]
        last = self.commands[-1] if self.commands else ""
        return [last if isinstance(last, str) else " ".join(last)]

    async def _resolve_motia(self) -> None:
        """Each command that starts Motia's Python runner: as written if the real motia runs
        there, else pyiii's Steps runner on the same ``--dir`` (motia.py; spec §A.8 step 8)."""
        for i, command in enumerate(self.cfg.exec):
            found = motia.parse(command)
            if found is None:
                continue
            verdict = await motia.probe(found, self.cwd, self._env())
            if verdict.runnable:
                log.info("`%s`: Motia's runner runs as written (%s); pyiii's Steps runner stays off for it",
                         found.text, verdict.reason)
                continue
            self.commands[i] = motia.replacement(found)
            log.info("`%s`: %s -> pyiii's Steps runner serves %s/ instead (`python -m pyiii.steps --dir %s`)",
                     found.text, verdict.reason, found.directory, found.directory)

    # ------------------------------------------------------------------ supervision

    def _env(self) -> dict[str, str]:
        return {**os.environ, "III_URL": self.context.engine_url, **self.cfg.env}

    async def _supervise(self) -> None:
        await self._resolve_motia()
        backoff = self.cfg.restart_backoff_ms / 1000
        while not self._stopping:
            self._restart.clear()
            self.starts += 1
            started = time.monotonic()
            outcome = await self._run_pipeline()
            if self._stopping:
                return
            if outcome == "restart":
                backoff = self.cfg.restart_backoff_ms / 1000
                continue
            if outcome == "exited" and self.cfg.restart_on_exit:
                if time.monotonic() - started >= HEALTHY_RUN_S:
                    backoff = self.cfg.restart_backoff_ms / 1000
                log.warning("process exited; restarting in %.1f s", backoff)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._restart.wait(), backoff)
                backoff = min(backoff * 2, self.cfg.restart_backoff_max_ms / 1000)
                continue
            # A setup command failed, or the process exited with restarts off: wait for a change.
            await self._restart.wait()

    async def _run_pipeline(self) -> str:
        """Run the setup commands, then the last one until it exits or a restart is asked.
        Returns ``restart``, ``exited`` or ``failed``."""
        grace = self.cfg.stop_grace_ms / 1000
        *setup, main = self.commands
        for command in setup:
            proc = await self._run_to_end(command, grace)
            if proc is None:
                return "restart"
            if proc.returncode != 0:
                log.error("`%s` exited with %s; the rest of the pipeline does not run", command, proc.returncode)
                return "failed"
        proc = await self._run_to_end(main, grace)
        if proc is None:
            return "restart"
        log.info("`%s` exited with %s", main, proc.returncode)
        return "exited"

    async def _run_to_end(self, command: str | list[str], grace: float) -> asyncio.subprocess.Process | None:
        """Run ``command`` until it exits; None when a restart was asked first (it is stopped)."""
        proc = await process.spawn(command, self.cwd, self._env(), grace)
        self._current = proc
        if await self._wait(proc) == "restart":
            await process.stop(proc, grace)
            return None
        return proc

    async def _wait(self, proc: asyncio.subprocess.Process) -> str:
        exit_task = asyncio.ensure_future(proc.wait())
        restart_task = asyncio.ensure_future(self._restart.wait())
        done, pending = await asyncio.wait({exit_task, restart_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return "restart" if restart_task in done and exit_task not in done else "exited"

    # ------------------------------------------------------------------ watching

    async def _watch(self) -> None:
        from watchfiles import Change, awatch

        globs = GlobSet(self.cfg.watch)
        root = Path(self.cwd)

        def wanted(_change: Change, path: str) -> bool:
            # Filter inside watchfiles: unrelated writes (logs, databases) never wake us.
            relative = _relative(path, root)
            return relative is not None and globs.matches(relative)

        dirs = [d for d in (root / r for r in globs.roots()) if d.exists()] or [root]
        async for changes in awatch(*dirs, watch_filter=wanted, debounce=self.cfg.debounce_ms, step=50):
            log.info("%s changed; restarting", sorted(p for _, p in changes)[0])
            self._restart.set()


def _relative(path: str, root: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
