"""Watch the fs directory so hand edits of ``<id>.yaml`` reach the engine (500 ms debounce)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from pyiii.workers.configuration.fs_store import FsStore

log = logging.getLogger("pyiii.configuration")

DEBOUNCE_MS = 500


async def watch(store: FsStore, changed: Callable[[str], Awaitable[None]]) -> None:
    """Call ``changed(id)`` once per entry file touched in each debounced batch; runs until
    cancelled. Our own writes come through too: ``changed`` tells them apart by content."""
    from watchfiles import Change, awatch

    def wanted(_change: Change, path: str) -> bool:
        # Temp files of atomic writes are hidden and end in .tmp: never wake up for them.
        return store.id_of(Path(path)) is not None

    async for changes in awatch(store.directory, watch_filter=wanted, debounce=DEBOUNCE_MS, step=50,
                                recursive=False):
        for config_id in sorted({i for _, p in changes if (i := store.id_of(Path(p))) is not None}):
            try:
                await changed(config_id)
            except Exception:  # one bad file must not stop the watcher
                log.exception("configuration: handling a change of %s.yaml failed", config_id)
