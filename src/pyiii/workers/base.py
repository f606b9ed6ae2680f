"""What every built-in worker is: a config type, a start and a stop.

A built-in worker receives a :class:`~pyiii.core.Host` (the engine's narrow API for workers),
never the engine; workers never import each other and cooperate by calling functions.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from pyiii.core import Host
from pyiii.workers.manifest import WorkerManifest


class EmptyConfig(msgspec.Struct, forbid_unknown_fields=True):
    pass


@dataclass(slots=True)
class WorkerContext:
    """Where the worker may keep files, and the project it serves."""

    project_dir: Path
    data_dir: Path
    engine_url: str = "ws://127.0.0.1:49134"


class BuiltinWorker(abc.ABC):
    #: What the worker declares in its package's ``__init__.py``; the catalog reads the same
    #: object, so the class and the catalog cannot disagree. The four flags below come from it.
    manifest: ClassVar[WorkerManifest]
    #: Canonical config name, e.g. ``iii-http``.
    kind: ClassVar[str]
    #: Other accepted spellings, e.g. ``("http",)``.
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Always started, even when config.yaml does not list it.
    mandatory: ClassVar[bool] = False
    #: Useless without a config block: not started by the no-config default.
    needs_config: ClassVar[bool] = False
    description: ClassVar[str] = ""
    config_type: ClassVar[type[msgspec.Struct]] = EmptyConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        manifest = cls.__dict__.get("manifest")
        if manifest is not None:
            cls.kind, cls.aliases = manifest.kind, manifest.aliases
            cls.mandatory, cls.needs_config = manifest.mandatory, manifest.needs_config

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        self.host = host
        self.config = config
        #: The config entry name (``iii-http``, or ``iii-worker-manager#1`` for a second entry).
        self.entry_id = entry_id
        self.context = context
        host.add_in_process_worker(entry_id, self.kind, self.description)

    @abc.abstractmethod
    async def start(self) -> None: ...

    async def stop(self) -> None:
        return None

    def endpoints(self) -> list[str]:
        """Addresses to show in the start-up banner."""
        return []
