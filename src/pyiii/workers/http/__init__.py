"""``iii-http``: the HTTP front door; routes are ``http`` triggers."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-http",
    worker="pyiii.workers.http.worker:HttpWorker",
    start_rank=100,
    aliases=("http",),
    trigger_types=("http",),
)
