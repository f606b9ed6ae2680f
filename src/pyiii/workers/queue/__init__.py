"""``iii-queue``: durable queues with retries and dead letters, delivered by push."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-queue",
    worker="pyiii.workers.queue.worker:QueueWorker",
    start_rank=60,
    aliases=("queue",),
    trigger_types=("durable:subscriber", "queue"),
)
