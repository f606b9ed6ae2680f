"""``iii-bridge``: functions of another engine, called through a bridge connection."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-bridge",
    worker="pyiii.workers.bridge.worker:BridgeWorker",
    start_rank=130,
    aliases=("bridge",),
    needs_config=True,
)
