"""``pyiii dev`` / ``pyiii start``: a project's engine, its console (when pyiii has one) and its
steps worker in one command; ``dev`` also reloads a step when its file changes, applies edits of
config.yaml, and moves a listener whose port is taken to the next free one.

The steps worker runs in a background thread of this process by default (it still talks to
the engine over its WebSocket, like any worker) — see docs/steps.md for the measurement
behind that choice; ``--steps-in process`` runs it as a child process instead, supervised: when
it dies it is restarted with a capped backoff, the log says why (exit code or signal, its last
lines of output) and the engine's ``steps`` health check fails meanwhile (``/readyz``,
``engine::health::check``, the console's health dot).

A config.yaml edit under ``dev`` that only adds workers, or changes or removes workers of the
:data:`RESTARTABLE` kinds, is applied inside the running engine (the steps stay connected); any
other edit restarts the engine part in this process (every built-in worker, on the new config)
and then the steps worker, which registers its steps with the new engine. A config that does not
parse, or a worker that cannot start with it, leaves the previous version running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec

from pyiii.bind import move_busy_ports
from pyiii.engine_config import ConfigError, EngineConfig, WorkerEntry, find_default, load
from pyiii.engine_runner import InProcessEngine, ListenError, start_or_report
from pyiii.workers import catalog
from pyiii.workers.exec import motia

log = logging.getLogger("pyiii")

StepsMode = Literal["thread", "process"]
CONSOLE_NAMES = ("iii-console", "console")
#: Seconds in-flight work gets to finish when a config edit restarts the engine.
RELOAD_GRACE = 2.0
#: Workers a config.yaml edit may stop and start again inside the running engine: they register
#: trigger types and functions only (InProcessEngine.remove_workers takes those back). Changing or
#: removing any other worker restarts the engine part.
RESTARTABLE = frozenset({"iii-http", "iii-cron", "iii-console"})


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


# ---------------------------------------------------------------------------------- steps


class Steps(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ThreadSteps:
    def __init__(self, project: Path, url: str, watch: bool) -> None:
        from pyiii.steps.steps_runner import StepsRunner

        self.runner = StepsRunner(project, url)
        self.watch = watch
        self.watcher: object | None = None

    async def start(self) -> None:
        from pyiii.steps.watcher import StepWatcher

        if self.watch:  # watch first: an edit made while the steps load is not missed
            watcher = StepWatcher.for_project(self.runner.project, self.runner.reload_file)
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


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessSteps:
    """``python -m pyiii.steps`` as a supervised child: its output is passed through (and the last
    lines kept); when it dies it is restarted after ``BACKOFF_START * 2**n`` seconds, capped at
    ``BACKOFF_CAP``, where n counts the crashes in a row (reset after ``STABLE_AFTER`` s of life)."""

    BACKOFF_START = 0.25
    BACKOFF_CAP = 10.0
    STABLE_AFTER = 30.0
    TAIL_LINES = 12

    def __init__(self, project: Path, url: str, watch: bool) -> None:
        self.argv = [sys.executable, "-m", "pyiii.steps", "--project", str(project), "--url", url]
        if watch:
            self.argv.append("--watch")
        self.proc: asyncio.subprocess.Process | None = None
        self.tail: deque[str] = deque(maxlen=self.TAIL_LINES)
        self.restarts = 0
        #: Why the child last died ("killed by SIGKILL", "exit code 1"), None before any crash.
        self.last_exit: str | None = None
        self._stopping = False
        self._started_at = 0.0
        self._pump: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def health(self) -> bool:
        """The engine's ``steps`` health check: raises with the reason while the process is down."""
        if not self.alive:
            raise RuntimeError(f"the steps process died ({self.last_exit or 'not started'}); "
                               f"restart {self.restarts} pending")
        return True

    async def start(self) -> None:
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="pyiii-steps-supervisor")

    async def _spawn(self) -> None:
        self.tail.clear()
        self.proc = await asyncio.create_subprocess_exec(*self.argv, stderr=asyncio.subprocess.PIPE, limit=1 << 20)
        self._started_at = time.monotonic()
        assert self.proc.stderr is not None
        self._pump = asyncio.create_task(self._pass_through(self.proc.stderr))

    async def _pass_through(self, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the limit: take what is there
                line = await stream.read(1 << 20)
            if not line:
                return
            text = line.decode(errors="replace")
            sys.stderr.write(text)
            sys.stderr.flush()
            self.tail.append(text.rstrip("\n"))

    async def _supervise(self) -> None:
        crashes = 0
        while True:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._pump is not None:
                await asyncio.wait([self._pump], timeout=1)
            if self._stopping:
                return
            lived = time.monotonic() - self._started_at
            if lived > self.STABLE_AFTER:
                crashes = 0
            delay = min(self.BACKOFF_START * 2 ** crashes, self.BACKOFF_CAP)
            crashes += 1
            self.restarts += 1
            self.last_exit = describe_exit(code)
            output = "\n".join(f"    | {line}" for line in self.tail) or "    (no output)"
            log.error("the steps process died (%s) after %.1f s; restarting it in %.2g s (restart %d). "
                      "Its last output:\n%s", self.last_exit, lived, delay, self.restarts, output)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self._spawn()
            except OSError as exc:
                log.error("cannot start the steps process: %s", exc)
                continue
            log.info("steps process restarted (pid %d)", self.proc.pid)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None and not self._supervisor.done():
            self._supervisor.cancel()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._pump is not None:
            await asyncio.wait([self._pump], timeout=1)


def motia_runners(project: Path, config: EngineConfig) -> list[str]:
    """The commands of ``iii-exec`` entries, run in ``project``, that start Motia's Python runner.
    Each one serves the project's steps (the real motia, or pyiii's Steps runner in its place,
    decided by the exec worker), so ``dev``/``start`` must not load them a second time."""
    found: list[str] = []
    for entry in config.workers:
        if entry.kind != "iii-exec" or not getattr(entry.config, "enabled", True):
            continue  # a disabled entry runs nothing, so dev/start's own runner serves the steps
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


# ---------------------------------------------------------------------------------- config.yaml


class ConfigWatcher:
    """Calls ``on_change`` (from its thread) when ``path`` is written, created (editors that save by
    rename) or removed. Watches the file's folder, not recursively."""

    def __init__(self, path: Path, on_change: Callable[[], object]) -> None:
        self.path = path.resolve()
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.armed = threading.Event()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def start(self) -> None:
        before = self._stat()
        self._thread = threading.Thread(target=self._run, args=(before,), name="pyiii-config-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, before: tuple[int, int] | None) -> None:
        from watchfiles import watch

        target = str(self.path)

        def only_config(_change: object, path: str) -> bool:
            return os.path.abspath(path) == target

        for changes in watch(self.path.parent, watch_filter=only_config, recursive=False, step=20, debounce=150,
                             stop_event=self._stop, rust_timeout=500, yield_on_timeout=True,
                             raise_interrupt=False):
            missed = False
            if not self.armed.is_set():
                self.armed.set()
                missed = self._stat() != before  # written while the watch was being armed
            if changes or missed:
                try:
                    self.on_change()
                except Exception:
                    log.exception("config watcher failed")


Fingerprint = dict[str, Any]


def fingerprint(config: EngineConfig) -> Fingerprint:
    """What a config starts, as plain values: one key per worker entry, plus engine limits and data_dir."""
    out: Fingerprint = {e.entry_id: msgspec.to_builtins(e.config) for e in config.workers}
    out[" engine"] = msgspec.to_builtins(config.limits)
    out[" data_dir"] = str(config.data_dir)
    return out


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_changes(old: Fingerprint, new: Fingerprint) -> list[str]:
    """``["added iii-cron", "iii-http: port 3111 -> 3115", "removed iii-queue"]``."""
    changes = [f"added {k}" for k in new if k not in old]
    changes += [f"removed {k}" for k in old if k not in new]
    for key in [k for k in new if k in old and new[k] != old[k]]:
        a, b = old[key], new[key]
        name = key.strip()
        if isinstance(a, dict) and isinstance(b, dict):
            diffs = [f"{f} {_short(a.get(f))} -> {_short(b.get(f))}" for f in sorted(a.keys() | b.keys())
                     if a.get(f) != b.get(f)]
            changes.append(f"{name}: " + ", ".join(diffs[:3]) + (", ..." if len(diffs) > 3 else ""))
        else:
            changes.append(f"{name}: {_short(a)} -> {_short(b)}")
    return changes


# ---------------------------------------------------------------------------------- the project


class ProjectServer:
    """Runs a project until SIGINT/SIGTERM: the engine, the steps worker, and under ``dev`` the
    config.yaml watcher (an edit restarts the engine part, see the module docstring)."""

    def __init__(self, project: Path, config: EngineConfig, build_config: Callable[[], EngineConfig], *,
                 watch: bool, steps_in: StepsMode = "thread", grace: float = 10.0, auto_ports: bool = False,
                 pinned_ports: frozenset[str] = frozenset(), config_path: Path | None = None) -> None:
        self.project = project
        self.config = config
        self.build_config = build_config
        self.watch = watch
        self.steps_in = steps_in
        self.grace = grace
        self.auto_ports = auto_ports
        self.pinned_ports = pinned_ports
        self.config_path = config_path or find_default(project) or project / "config.yaml"
        self.process: InProcessEngine | None = None
        self.steps: ThreadSteps | ProcessSteps | NoSteps | None = None
        self._changed = asyncio.Event()
        self._own_url = "III_URL" not in os.environ  # a III_URL the user set is theirs
        #: Seconds the last config edit took to apply (engine down to steps registered again).
        self.last_reload_s: float | None = None

    def _make_steps(self, url: str) -> ThreadSteps | ProcessSteps | NoSteps:
        if self._own_url:
            os.environ["III_URL"] = url  # what the project's own code connects to
        runners = motia_runners(self.project, self.config)
        if runners:
            return NoSteps(runners)
        if self.steps_in == "thread":
            return ThreadSteps(self.project, url, self.watch)
        return ProcessSteps(self.project, url, self.watch)

    async def _start_engine(self, config: EngineConfig) -> InProcessEngine | None:
        if self.auto_ports:
            for line in move_busy_ports(config, self.pinned_ports):
                print(f"pyiii dev: {line}", file=sys.stderr, flush=True)
        process = InProcessEngine(config, project_dir=self.project)
        if not await start_or_report(process):
            return None
        print(process.banner(), file=sys.stderr, flush=True)
        return process

    async def _start_steps(self, process: InProcessEngine) -> None:
        steps = self._make_steps(process.context.engine_url)
        if isinstance(steps, ProcessSteps):
            # /readyz, engine::health::check and the console's health dot show a dead steps process.
            process.engine.health_checks["steps"] = steps.health
        self.steps = steps
        await steps.start()

    async def run(self) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self._fingerprint = fingerprint(self.config)
        self.process = await self._start_engine(self.config)
        if self.process is None:
            return 1
        await self._start_steps(self.process)
        watcher = None
        if self.watch:
            watcher = ConfigWatcher(self.config_path, lambda: loop.call_soon_threadsafe(self._changed.set))
            await asyncio.to_thread(watcher.start)
        status = 0
        waits = {asyncio.ensure_future(stop.wait())}
        try:
            while not stop.is_set():
                changed = asyncio.ensure_future(self._changed.wait())
                await asyncio.wait(waits | {changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if self._changed.is_set() and not stop.is_set():
                    self._changed.clear()
                    try:
                        reloaded = await self.reload()
                    except Exception:
                        log.exception("applying %s failed", self.config_path.name)
                        reloaded = self.process is not None
                    if not reloaded:
                        status = 1
                        break
        finally:
            for task in waits:
                task.cancel()
        log.info("shutting down (grace %.0f s)", self.grace)
        if watcher is not None:
            await asyncio.to_thread(watcher.stop)
        if self.steps is not None:
            await self.steps.stop()
        if self.process is not None:
            await self.process.stop(self.grace)
        return status

    async def _apply_in_place(self, new: EngineConfig, new_fingerprint: Fingerprint, changes: list[str]) -> bool:
        """Apply an edit without restarting the engine when it only adds workers (not a worker
        listener) and changes or removes workers of :data:`RESTARTABLE` kinds: those are stopped
        and started again on their new config, the steps stay connected, and the bindings of a
        trigger type the worker provides (http routes, cron schedules) are parked meanwhile and
        re-armed on the new instance. False when the edit needs an engine restart."""
        old = self._fingerprint
        if self.process is None or any(old.get(k) != new_fingerprint.get(k) for k in (" engine", " data_dir")):
            return False
        if motia_runners(self.project, self.config) != motia_runners(self.project, new):
            return False  # who serves the steps changes: restart, so they never run twice
        kinds = {e.entry_id: e.kind for e in self.config.workers}
        added = [e for e in new.workers if e.entry_id not in old]
        changed = [e for e in new.workers if e.entry_id in old and old[e.entry_id] != new_fingerprint[e.entry_id]]
        removed = {k for k in old if not k.startswith(" ") and k not in new_fingerprint}
        if any(e.kind == "iii-worker-manager" for e in added) or any(
                kinds.get(k) not in RESTARTABLE for k in removed | {e.entry_id for e in changed}):
            return False
        name = self.config_path.name
        log.info("%s changed: %s; applying it in the running engine", name, "; ".join(changes))
        previous = [e for e in self.config.workers if e.entry_id in removed | {e.entry_id for e in changed}]
        await self.process.remove_workers({e.entry_id for e in previous})
        entries = added + changed
        if self.auto_ports:
            for line in move_busy_ports(EngineConfig(workers=entries), self.pinned_ports):
                print(f"pyiii dev: {line}", file=sys.stderr, flush=True)
        try:
            workers = await self.process.add_workers(entries)
        except Exception as exc:
            why = exc.one_line() if isinstance(exc, ListenError) else f"cannot start {exc}"
            log.error("%s not applied: %s; back to the previous version", name, why)
            try:
                await self.process.add_workers(previous)
            except Exception as again:
                log.error("cannot start the previous version of %s either (%s); restarting the engine",
                          ", ".join(e.entry_id for e in previous), again)
                self.config.workers = sorted(self.config.workers + previous, key=lambda e: catalog.start_rank(e.kind))
                return False
            return True
        for worker in workers:
            print(f"  {worker.entry_id}  {', '.join(worker.endpoints()) or 'in-process'}", file=sys.stderr, flush=True)
        self._fingerprint = new_fingerprint
        return True

    async def reload(self) -> bool:
        """Apply an edit of config.yaml. False only when neither the new nor the previous config
        could start again (the command then exits)."""
        name = self.config_path.name
        if not self.config_path.exists():
            log.warning("%s was removed; still running the previous version (restart to run without it)", name)
            return True
        try:
            new = await asyncio.to_thread(self.build_config)
        except ConfigError as exc:
            log.error("%s not applied, still running the previous version: %s", name, exc)
            return True
        new_fingerprint = fingerprint(new)
        changes = describe_changes(self._fingerprint, new_fingerprint)
        if not changes:
            log.info("%s saved: nothing to apply", name)
            return True
        begin = time.perf_counter()
        if await self._apply_in_place(new, new_fingerprint, changes):
            self.last_reload_s = time.perf_counter() - begin
            log.info("%s applied in %.0f ms (steps kept connected)", name, self.last_reload_s * 1000)
            return True
        log.info("%s changed: %s; restarting the engine", name, "; ".join(changes))
        if self.steps is not None:
            await self.steps.stop()
            self.steps = None
        if self.process is not None:
            await self.process.stop(RELOAD_GRACE)
        process = await self._start_engine(new)
        applied = process is not None
        if process is None:
            log.error("%s not applied: the engine cannot start with it; back to the previous version", name)
            process = await self._start_engine(self.config)
            if process is None:
                self.process = None
                return False
        else:
            self.config, self._fingerprint = new, new_fingerprint
        self.process = process
        await self._start_steps(process)
        self.last_reload_s = time.perf_counter() - begin
        steps = "steps registered again" if self.steps_in == "thread" else "steps process started again"
        what = f"{name} applied" if applied else "the previous version is running again"
        log.info("%s in %.0f ms (engine restarted, %s)", what, self.last_reload_s * 1000, steps)
        return True


async def run_project(project: Path, config: EngineConfig, *, watch: bool, steps_in: StepsMode = "thread",
                      grace: float = 10.0, build_config: Callable[[], EngineConfig] | None = None,
                      auto_ports: bool = False, pinned_ports: frozenset[str] = frozenset(),
                      config_path: Path | None = None) -> int:
    server = ProjectServer(project, config, build_config or (lambda: config), watch=watch, steps_in=steps_in,
                           grace=grace, auto_ports=auto_ports, pinned_ports=pinned_ports, config_path=config_path)
    return await server.run()
