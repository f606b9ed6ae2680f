"""What a built-in worker declares about itself, in a place that is cheap to import.

Each worker package holds its :class:`WorkerManifest` as ``MANIFEST`` in its ``__init__.py``
(the console in ``pyiii/console/__init__.py``, the listeners in ``pyiii/transport/manifest.py``).
The catalog collects them without importing the workers themselves, so reading a config costs
only the workers it starts; the worker class takes its flags from the same object.
"""

from __future__ import annotations

import msgspec


# A frozen Struct, not a dataclass: defining it costs next to nothing when a config is read.
class WorkerManifest(msgspec.Struct, frozen=True, kw_only=True):
    #: Canonical config name, e.g. ``iii-http``.
    kind: str
    #: ``"module:Class"`` of the worker, imported only when a config lists it.
    worker: str
    #: Workers start by ascending rank (ties: by kind), so that what a worker calls exists
    #: before it starts; the listeners start late, once every function they serve exists.
    start_rank: int
    #: Other accepted spellings, e.g. ``("http",)``.
    aliases: tuple[str, ...] = ()
    #: Always started, even when config.yaml does not list it.
    mandatory: bool = False
    #: Useless without a config block: not started by the no-config default.
    needs_config: bool = False
    #: Trigger types it provides (the engine names this worker when a binding waits for one).
    trigger_types: tuple[str, ...] = ()
