"""``iii-cluster``: several engines on one Redis call each other's worker functions."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-cluster",
    worker="pyiii.workers.cluster.worker:ClusterWorker",
    start_rank=120,
    aliases=("cluster",),
    needs_config=True,
)
