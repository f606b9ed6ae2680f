"""``pyiii dev`` / ``pyiii start``: a project's engine, its console (when pyiii has one) and its
steps worker in one command; ``dev`` also reloads a step when its file changes.

The steps worker runs in a background thread of this process by default (it still talks to
the engine over its WebSocket, like any worker) — see docs/steps.md for the measurement
behind that choice; ``--steps-in process`` runs it as a child process instead.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Literal

from pyiii.config import EngineConfig, WorkerEntry, find_default, load
from pyiii.workers import catalog
from pyiii.workers.exec import motia

StepsMode = Literal["thread", "process"]
CONSOLE_NAMES = ("iii-console", "console")


def project_config(project: Path, config_path: Path | None, version: str) -> EngineConfig:
    """The project's config.yaml (else its iii-config.yaml, else the all-built-ins default), plus
    the console if it exists."""
    if config_path is None:
        config_path = find_default(project)
    config = load(config_path, version=version)
    console = next((k for k in (catalog.canonical(n) for n in CONSOLE_NAMES) if k), None)
    if console is not None and all(w.kind != console for w in config.workers):
        console_config = catalog.load(console).config_type()
        for kind, field in (("iii-http", "http_port"), ("iii-stream", "ws_port")):  # where the console proxies to
            port = next((getattr(w.config, "port", None) for w in config.workers if w.kind == kind), None)
            if hasattr(console_config, field) and port is not None:
                setattr(console_config, field, port)
        config.workers.append(WorkerEntry(kind=console, entry_id=console, config=console_config))
        config.workers.sort(key=lambda w: catalog.start_rank(w.kind))
    return config


class ThreadSteps:
    def __init__(self, project: Path, url: str, watch: bool) -> None:
        from pyiii.steps.runner import StepsRunner

        self.runner = StepsRunner(project, url)
        self.watch = watch
        self.watcher: object | None = None

    async def start(self) -> None:
        from pyiii.steps import discovery
        from pyiii.steps.watcher import StepWatcher

        if self.watch:  # watch first: an edit made while the steps load is not missed
            watcher = StepWatcher(discovery.roots(self.runner.project), self.runner.reload_file)
            await asyncio.to_thread(watcher.start)
            self.watcher = watcher
        report = await asyncio.to_thread(self.runner.start)
        print(f"steps ready: {report.steps} step(s), {report.streams} stream(s) in {report.seconds * 1000:.0f} ms",
              file=sys.stderr, flush=True)

    async def stop(self) -> None:
        from pyiii.steps.watcher import StepWatcher

        if isinstance(self.watcher, StepWatcher):
            await asyncio.to_thread(self.watcher.stop)
        await asyncio.to_thread(self.runner.stop)


class ProcessSteps:
    def __init__(self, project: Path, url: str, watch: bool) -> None:
        self.argv = [sys.executable, "-m", "pyiii.steps", "--project", str(project), "--url", url]
        if watch:
            self.argv.append("--watch")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.argv)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()


def motia_runners(project: Path, config: EngineConfig) -> list[str]:
    """The commands of ``iii-exec`` entries, run in ``project``, that start Motia's Python runner.
    Each one serves the project's steps (the real motia, or pyiii's Steps runner in its place,
    decided by the exec worker), so ``dev``/``start`` must not load them a second time."""
    found: list[str] = []
    for entry in config.workers:
        if entry.kind != "iii-exec":
            continue
        cwd = (project / (getattr(entry.config, "cwd", None) or ".")).resolve()
        if cwd != project.resolve():
            continue
        found.extend(m.text for m in map(motia.parse, getattr(entry.config, "exec", [])) if m is not None)
    return found


class NoSteps:
    """In place of the steps worker when an exec entry runs Motia's runner (never run both)."""

    def __init__(self, commands: list[str]) -> None:
        self.commands = commands

    async def start(self) -> None:
        print(f"steps: served by the iii-exec entry `{self.commands[0]}` (Motia's runner, or pyiii's Steps runner "
              "in its place); pyiii's in-process Steps runner stays off", file=sys.stderr, flush=True)

    async def stop(self) -> None:
        return None


async def run_project(
    project: Path, config: EngineConfig, *, watch: bool, steps_in: StepsMode = "thread", grace: float = 10.0
) -> int:
    from pyiii.runner import EngineProcess, serve

    runners = motia_runners(project, config)

    def steps(url: str) -> ThreadSteps | ProcessSteps | NoSteps:
        os.environ.setdefault("III_URL", url)
        if runners:
            return NoSteps(runners)
        return ThreadSteps(project, url, watch) if steps_in == "thread" else ProcessSteps(project, url, watch)

    return await serve(EngineProcess(config, project_dir=project), grace=grace, companion=steps)
