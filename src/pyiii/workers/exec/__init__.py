"""``iii-exec``: runs the app's processes next to the engine."""

from pyiii.workers.manifest import WorkerManifest

#: Last: the app's processes start once the listener accepts them.
MANIFEST = WorkerManifest(
    kind="iii-exec",
    worker="pyiii.workers.exec.worker:ExecWorker",
    start_rank=1000,
    aliases=("exec",),
    needs_config=True,
)
