"""``iii-observability`` (mandatory): traces, logs and metrics, stored, queried and exported."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-observability",
    worker="pyiii.workers.observability.worker:ObservabilityWorker",
    start_rank=20,
    aliases=("observability",),
    mandatory=True,
    trigger_types=("log", "trace"),
)
