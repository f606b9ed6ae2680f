"""Watch the step folders and hand each changed ``.py`` file to the runner.

``watchfiles`` (inotify/FSEvents through Rust's notify) with a short ``step`` so a save is
picked up in tens of milliseconds; editors that write a file in several syscalls are grouped
by the debounce.
"""

from __future__ import annotations

import logging
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
        self._ready = threading.Event()

    def start(self) -> None:
        if not self.folders:
            return
        self._thread = threading.Thread(target=self._run, name="pyiii-steps-watch", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from watchfiles import watch

        def only_python(_change: object, path: str) -> bool:
            return path.endswith(".py") and "__pycache__" not in path

        self._ready.set()
        for changes in watch(*self.folders, watch_filter=only_python, step=self.step_ms,
                             debounce=self.debounce_ms, stop_event=self._stop, rust_timeout=500,
                             yield_on_timeout=False, raise_interrupt=False):
            for path in sorted({Path(p) for _, p in changes}):
                try:
                    self.on_change(path)
                except Exception:
                    log.exception("steps: reloading %s failed", path)
