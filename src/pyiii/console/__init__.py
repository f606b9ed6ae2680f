"""The iii console: a browser UI (plain ES modules, no build step) and a small JSON API that
drives the engine through its functions. Runs inside ``pyiii dev`` as the built-in worker
``iii-console``, or against any running engine with ``pyiii console --engine ws://...``."""

from pyiii.workers.manifest import WorkerManifest

MANIFEST = WorkerManifest(
    kind="iii-console",
    worker="pyiii.console.worker:ConsoleWorker",
    start_rank=140,
    aliases=("console",),
    needs_config=True,  # only `pyiii dev|start` (or a config.yaml entry) starts it, not the bare engine
)
