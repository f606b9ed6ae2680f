"""What every built-in worker is: a config type, a start and a stop.

Built-in workers use :class:`~pyiii.core.engine.Engine`'s public API only and never import
each other; they cooperate by calling functions through the engine.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from pyiii.core.engine import Engine


class EmptyConfig(msgspec.Struct, forbid_unknown_fields=True):
    pass


@dataclass(slots=True)
class WorkerContext:
    """Where the worker may keep files, and the project it serves."""

    project_dir: Path
    data_dir: Path
    engine_url: str = "ws://127.0.0.1:49134"


class BuiltinWorker(abc.ABC):
    #: Canonical config name, e.g. ``iii-http``.
    kind: ClassVar[str]
    #: Other accepted spellings, e.g. ``("http",)``.
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    config_type: ClassVar[type[msgspec.Struct]] = EmptyConfig
    #: Always started, even when config.yaml does not list it.
    mandatory: ClassVar[bool] = False
    #: Useless without a config block: not started by the no-config default.
    needs_config: ClassVar[bool] = False

    def __init__(self, engine: Engine, config: Any, entry_id: str, context: WorkerContext) -> None:
        self.engine = engine
        self.config = config
        #: The config entry name (``iii-http``, or ``iii-worker-manager#1`` for a second entry).
        self.entry_id = entry_id
        self.context = context
        engine.add_in_process_worker(entry_id, self.kind, self.description)

    @abc.abstractmethod
    async def start(self) -> None: ...

    async def stop(self) -> None:
        return None

    def endpoints(self) -> list[str]:
        """Addresses to show in the start-up banner."""
        return []
