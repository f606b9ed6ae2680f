"""``iii-state``: key-value state by scope and key, with ``state`` triggers (spec/workers.md)."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-state",
    worker="pyiii.workers.state.worker:StateWorker",
    start_rank=30,
    aliases=("state",),
    trigger_types=("state",),
)
