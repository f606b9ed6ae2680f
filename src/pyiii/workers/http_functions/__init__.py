"""``iii-http-functions``: functions served by an HTTP endpoint instead of a worker."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-http-functions",
    worker="pyiii.workers.http_functions.worker:HttpFunctionsWorker",
    start_rank=110,
    aliases=("http-functions",),
)
