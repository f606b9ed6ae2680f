"""Watch the step folders and hand each changed ``.py`` file to the runner.

``watchfiles`` (inotify/FSEvents through Rust's notify) with a short ``step`` so a save is
picked up in tens of milliseconds; editors that write a file in several syscalls are grouped
by the debounce.

watchfiles arms its OS watches only once its generator runs, on the watch thread. So that an
edit made between :meth:`StepWatcher.start` and that moment (while the steps load, or right
after "ready") is not lost, ``start`` snapshots the files and, once the watches are armed, the
files that differ from the snapshot are reported too.

Given the project folder, the watcher also notices a step folder (``steps/``, ``src/``) created
after start: at each wake-up (at least every ``rust_timeout``) it compares the folders that
exist with the ones it watches and, when one appeared, re-arms on the new set and reports every
``.py`` file of the new folder (the same snapshot mechanism). The project root itself is never
watched recursively: ``.venv``, ``node_modules`` or ``data`` may hold many thousand folders.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("pyiii.steps")


class StepWatcher:
    def __init__(self, folders: list[Path], on_change: Callable[[Path], object], *, step_ms: int = 15,
                 debounce_ms: int = 200, project: Path | None = None, rust_timeout_ms: int = 500) -> None:
        self.folders = folders
        #: When set, step folders created under it after start are watched too.
        self.project = project
        self.rust_timeout_ms = rust_timeout_ms
        self.on_change = on_change
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot: dict[Path, tuple[int, int]] = {}
        #: set once the OS watches are armed (tests, tools)
        self.armed = threading.Event()

    @classmethod
    def for_project(cls, project: Path, on_change: Callable[[Path], object], **kwargs: int) -> StepWatcher:
        from pyiii.steps import discovery

        return cls(discovery.roots(project), on_change, project=project, **kwargs)

    def _roots(self) -> list[Path]:
        from pyiii.steps import discovery

        return self.folders if self.project is None else discovery.roots(self.project)

    def start(self) -> None:
        if not self.folders and self.project is None:
            return
        self._snapshot = snapshot(self.folders)
        self._thread = threading.Thread(target=self._run, name="pyiii-steps-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        catching_up = True
        while not self._stop.is_set():
            appeared = self._watch(catching_up)
            if not appeared:
                return
            log.info("steps: watching %s too", ", ".join(p.name + "/" for p in appeared))
            catching_up = True

    def _watch(self, catching_up: bool) -> list[Path]:
        """Watch ``self.folders`` until stopped (returns []) or until a new step folder appears
        (returns the new folders; ``self.folders`` and the snapshot then cover the new set)."""
        from watchfiles import watch

        def only_python(_change: object, path: str) -> bool:
            return path.endswith(".py") and "__pycache__" not in path

        # No step folder yet: watch the project root alone, only to wake up and look for one.
        targets, recursive = (self.folders, True) if self.folders else ([self.project], False)
        # yield_on_timeout: the first (possibly empty) yield tells that the watches are armed
        for changes in watch(*targets, watch_filter=only_python, step=self.step_ms, recursive=recursive,
                             debounce=self.debounce_ms, stop_event=self._stop, rust_timeout=self.rust_timeout_ms,
                             yield_on_timeout=True, raise_interrupt=False):
            paths = {Path(p) for _, p in changes} if self.folders else set()
            if catching_up:
                paths |= changed_since(self._snapshot, snapshot(self.folders))
                self._snapshot = {}
                catching_up = False
                self.armed.set()
            self._report(paths)
            appeared = [p for p in self._roots() if p not in self.folders]
            if appeared:
                # Files of the new folders are not in the snapshot: the catch-up reports them all.
                self._snapshot = snapshot(self.folders)
                self.folders = self.folders + appeared
                return appeared
        return []

    def _report(self, paths: set[Path]) -> None:
        for path in sorted(paths):
            try:
                self.on_change(path)
            except Exception:
                log.exception("steps: reloading %s failed", path)


def snapshot(folders: list[Path]) -> dict[Path, tuple[int, int]]:
    """``(mtime_ns, size)`` of every step-folder ``.py`` file."""
    out: dict[Path, tuple[int, int]] = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if name.endswith(".py"):
                    path = Path(root) / name
                    try:
                        st = path.stat()
                    except OSError:
                        continue
                    out[path] = (st.st_mtime_ns, st.st_size)
    return out


def changed_since(before: dict[Path, tuple[int, int]], now: dict[Path, tuple[int, int]]) -> set[Path]:
    """Files added, changed or removed between two snapshots."""
    return {p for p in before.keys() | now.keys() if before.get(p) != now.get(p)}
