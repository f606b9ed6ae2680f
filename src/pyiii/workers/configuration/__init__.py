"""``configuration`` (mandatory): typed, schema-checked settings stored one YAML file per id
(spec/workers.md §3)."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="configuration",
    worker="pyiii.workers.configuration.worker:ConfigurationWorker",
    start_rank=0,
    aliases=("iii-configuration",),
    mandatory=True,
    trigger_types=("configuration",),
)
