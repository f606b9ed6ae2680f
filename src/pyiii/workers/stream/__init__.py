"""``iii-stream``: streams of items pushed to WebSocket clients, with stream triggers."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-stream",
    worker="pyiii.workers.stream.worker:StreamWorker",
    start_rank=40,
    aliases=("stream",),
    trigger_types=("stream", "stream:join", "stream:leave"),
)
