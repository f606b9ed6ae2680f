"""``iii-engine-functions`` (mandatory): introspection and control functions (spec/protocol.md §4)."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-engine-functions",
    worker="pyiii.workers.engine_functions.worker:EngineFunctionsWorker",
    start_rank=10,
    aliases=("engine-functions",),
    mandatory=True,
)
