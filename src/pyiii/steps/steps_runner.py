"""The steps worker: discover a project, register its steps with an engine, reload on change.

    runner = StepsRunner(Path("."), "ws://127.0.0.1:49134")
    runner.start()          # blocks until every step is registered
    runner.reload_file(p)   # one step re-imported and re-registered
    runner.stop()
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pyiii.sdk import III, InitOptions, register_worker
from pyiii.steps import discovery, motia_import, runtime
from pyiii.steps.discovery import StepLoadError
from pyiii.steps.model import LoadedStep
from pyiii.steps.motia_config import load_stream_auth
from pyiii.steps.registration import Registered, on_client_loop, register_step
from pyiii.steps.stream_hooks import register_hooks
from pyiii.steps.streams import Stream

log = logging.getLogger("pyiii.steps")

STEP_SUFFIX = "_step.py"
STREAM_SUFFIX = "_stream.py"
#: Step files imported, then registered, per round trip to the SDK loop: large enough that the
#: hand-over cost vanishes, small enough that the loop keeps serving calls meanwhile.
BATCH = 50


@dataclass
class LoadReport:
    steps: int = 0
    streams: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class StepsRunner:
    def __init__(self, project: Path, engine_url: str, *, worker_name: str = "steps",
                 dirs: tuple[str, ...] = discovery.DEFAULT_ROOTS) -> None:
        self.project = project.resolve()
        #: Folders (relative to ``project``) searched for step and stream files.
        self.dirs = dirs
        self.engine_url = engine_url
        self.worker_name = worker_name
        self.client: III | None = None
        self.streams: dict[str, Stream] = {}
        #: file path → what it registered.
        self.steps: dict[Path, tuple[LoadedStep, Registered]] = {}
        self._names: dict[str, Path] = {}  # step name → file, to refuse duplicates
        self._stream_undo: list[Callable[[], None]] = []
        #: file -> digest of the content its registered step was imported from; a change event
        #: for the same content (editors write a file in several steps) reloads nothing.
        self._digests: dict[Path, bytes] = {}
        self._imported: dict[Path, bytes] = {}
        #: every step file ever imported: a later event for one of them is not an "added" file
        self._seen: set[Path] = set()
        self._lock = threading.RLock()
        #: Set once the first load is done; file changes seen earlier wait for it.
        self.ready = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LoadReport:
        begin = time.perf_counter()
        discovery.prepare(self.project)
        if motia_import.install():  # `from motia import ...` in step files, unless the real one is there
            log.debug("steps: `import motia` resolves to pyiii.steps.motia_api")
        else:
            log.info("steps: the installed `motia` package is used for `import motia`")
        self.client = register_worker(self.engine_url, InitOptions(worker_name=self.worker_name))
        runtime.install(self.client)
        report = self.load_all()
        report.seconds = time.perf_counter() - begin
        self.ready.set()
        log.info("steps: %d step(s), %d stream(s) registered in %.0f ms", report.steps, report.streams,
                 report.seconds * 1000)
        for error in report.errors:
            log.error("steps: %s", error)
        return report

    def stop(self) -> None:
        with self._lock:
            for _, registered in self.steps.values():
                registered.unregister()
            self.steps.clear()
            self._names.clear()
        client, self.client = self.client, None
        if runtime.maybe_client() is client:
            runtime.install(None)
        if client is not None:
            client.shutdown()

    # ------------------------------------------------------------------ loading

    def _client(self) -> III:
        if self.client is None:
            raise RuntimeError("StepsRunner is not started")
        return self.client

    def load_streams(self, report: LoadReport) -> None:
        streams: dict[str, Stream] = {}
        for path in discovery.find(self.project, STREAM_SUFFIX, self.dirs):
            try:
                loaded = discovery.load_stream(self.project, path)
            except StepLoadError as exc:
                report.errors.append(str(exc))
                continue
            if loaded is not None:
                streams[loaded.config.name] = Stream(loaded.config)
        for undo in self._stream_undo:
            undo()
        # Mutate in place: every ctx.streams mapping handed out so far sees the new set.
        self.streams.clear()
        self.streams.update(streams)
        try:
            authenticate = load_stream_auth(self.project)
        except StepLoadError as exc:
            report.errors.append(str(exc))
            authenticate = None
        self._stream_undo = register_hooks(self._client(), self.streams, authenticate)
        report.streams = len(streams)

    def load_all(self) -> LoadReport:
        report = LoadReport()
        with self._lock:
            self.load_streams(report)
            report.steps += self._load_steps(discovery.find(self.project, STEP_SUFFIX, self.dirs), report)
        return report

    def _load_steps(self, paths: list[Path], report: LoadReport) -> int:
        """Import every file of ``paths`` in order, then register the steps in order, ``BATCH`` at a
        time on the SDK's loop thread (see :func:`on_client_loop`). Importing first keeps file
        reads away from the threads busy sending and handling registrations: a read that gives
        up the GIL to a busy thread waits up to the 5 ms switch interval to get it back."""
        loaded = [(path, step) for path in paths if (step := self._import_step(path, report)) is not None]
        count = 0
        for start in range(0, len(loaded), BATCH):
            count += on_client_loop(self._client(), partial(self._register_all, loaded[start:start + BATCH], report))
        return count

    def _register_all(self, steps: list[tuple[Path, LoadedStep]], report: LoadReport) -> int:
        return sum(self._register(path, step, report) for path, step in steps)

    def _load_step(self, path: Path, report: LoadReport) -> bool:
        step = self._import_step(path, report)
        return step is not None and self._register(path, step, report)

    def _import_step(self, path: Path, report: LoadReport) -> LoadedStep | None:
        digest = _digest(path)
        self._seen.add(path)
        if digest is not None:
            self._imported[path] = digest
        try:
            return discovery.load_step(self.project, path)
        except StepLoadError as exc:
            report.errors.append(str(exc))
            return None

    def _register(self, path: Path, step: LoadedStep, report: LoadReport) -> bool:
        clash = self._names.get(step.config.name)
        if clash is not None and clash != path:
            report.errors.append(f"{step.rel_path}: step name {step.config.name!r} is already used by "
                                 f"{discovery.rel(self.project, clash)}")
            return False
        old = self.steps.pop(path, None)
        if old is not None:
            old[1].unregister()  # same ids may come back: take the old ones away first
            self._names.pop(old[0].config.name, None)
        try:
            registered = register_step(self._client(), step, self.streams)
        except Exception as exc:
            report.errors.append(f"{step.rel_path}: registration failed: {exc}")
            return False
        self.steps[path] = (step, registered)
        self._names[step.config.name] = path
        digest = self._imported.pop(path, None)
        if digest is not None:
            self._digests[path] = digest
        return True

    # ------------------------------------------------------------------ hot reload

    def reload_file(self, path: Path) -> LoadReport:
        """React to one changed/created/deleted file. A broken edit keeps the old step running."""
        self.ready.wait()
        path = path.resolve()
        report = LoadReport()
        begin = time.perf_counter()
        verb = "reloaded"
        with self._lock:
            if path.name.endswith(STEP_SUFFIX):
                digest = _digest(path)
                if digest is None:
                    old = self.steps.pop(path, None)
                    self._digests.pop(path, None)
                    if old is not None:
                        old[1].unregister()
                        self._names.pop(old[0].config.name, None)
                        log.info("steps: %s removed", discovery.rel(self.project, path))
                elif digest == EMPTY:
                    # An editor truncates, then writes: the next event brings the content.
                    log.debug("steps: %s is empty for now; its step keeps serving", path)
                elif path in self.steps and self._digests.get(path) == digest:
                    pass  # another event of the same save: nothing changed since the last load
                else:
                    added = path not in self._seen
                    if self._load_step(path, report):
                        report.steps = 1
                        verb = "added" if added else "reloaded"
            elif path.name.endswith(STREAM_SUFFIX):
                self.load_streams(report)
            else:
                # A helper module changed: forget it and reload every step that may use it.
                name = discovery.module_name(self.project, path)
                sys.modules.pop(name, None)
                self.load_all_again(report)
        report.seconds = time.perf_counter() - begin
        for error in report.errors:
            log.error("steps: %s", error)
        if report.steps:
            log.info("steps: %s %s in %.0f ms", verb, discovery.rel(self.project, path), report.seconds * 1000)
        return report

    def load_all_again(self, report: LoadReport) -> None:
        report.steps += self._load_steps([path for path in self.steps if path.exists()], report)


#: What :func:`_digest` gives for an empty (or blank) file.
EMPTY = b""


def _digest(path: Path) -> bytes | None:
    """A digest of ``path``'s content, ``EMPTY`` for a blank file, ``None`` when it is gone."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError:
        return hashlib.blake2b(b"unreadable").digest()
    return hashlib.blake2b(data).digest() if data.strip() else EMPTY
