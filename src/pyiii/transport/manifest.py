"""The catalog entry of ``iii-worker-manager`` (the WebSocket listeners), apart from
:mod:`pyiii.transport.worker_manager` so that reading a config does not import the transport."""

from pyiii.workers.manifest import WorkerManifest

#: Listeners start after every in-process worker: what a remote worker may call exists first.
MANIFEST = WorkerManifest(
    kind="iii-worker-manager",
    worker="pyiii.transport.worker_manager:WorkerManager",
    start_rank=900,
    aliases=("worker-manager",),
    mandatory=True,
)
