"""Watch the step folders and hand each changed ``.py`` file to the runner.

``watchfiles`` (inotify/FSEvents through Rust's notify) with a short ``step`` so a save is
picked up in tens of milliseconds; editors that write a file in several syscalls are grouped
by the debounce.

watchfiles arms its OS watches only once its generator runs, on the watch thread. So that an
edit made between :meth:`StepWatcher.start` and that moment (while the steps load, or right
after "ready") is not lost, ``start`` snapshots the files and, once the watches are armed, the
files that differ from the snapshot are reported too.
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
                 debounce_ms: int = 200) -> None:
        self.folders = folders
        self.on_change = on_change
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot: dict[Path, tuple[int, int]] = {}
        #: set once the OS watches are armed (tests, tools)
        self.armed = threading.Event()

    def start(self) -> None:
        if not self.folders:
            return
        self._snapshot = snapshot(self.folders)
        self._thread = threading.Thread(target=self._run, name="pyiii-steps-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from watchfiles import watch

        def only_python(_change: object, path: str) -> bool:
            return path.endswith(".py") and "__pycache__" not in path

        # yield_on_timeout: the first (possibly empty) yield tells that the watches are armed
        for changes in watch(*self.folders, watch_filter=only_python, step=self.step_ms,
                             debounce=self.debounce_ms, stop_event=self._stop, rust_timeout=500,
                             yield_on_timeout=True, raise_interrupt=False):
            paths = {Path(p) for _, p in changes}
            if not self.armed.is_set():
                paths |= changed_since(self._snapshot, snapshot(self.folders))
                self._snapshot = {}
                self.armed.set()
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
