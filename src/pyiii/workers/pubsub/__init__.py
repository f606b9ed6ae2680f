"""``iii-pubsub``: fire-and-forget topics (``publish`` and ``subscribe`` triggers)."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-pubsub",
    worker="pyiii.workers.pubsub.worker:PubsubWorker",
    start_rank=70,
    aliases=("pubsub",),
    trigger_types=("subscribe",),
)
