"""``iii-cron``: cron triggers."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-cron",
    worker="pyiii.workers.cron.worker:CronWorker",
    start_rank=80,
    aliases=("cron",),
    trigger_types=("cron",),
)
