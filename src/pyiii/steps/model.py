"""What discovery produces: a loaded step (config + handler) and a loaded stream config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyiii.steps.step_config import StepConfig
from pyiii.steps.stream_config import StreamConfig


@dataclass
class LoadedStep:
    config: StepConfig
    #: ``None`` only for a noop step (no triggers) written without code.
    handler: Callable[..., Any] | None
    file_path: Path
    #: Relative to the project folder, with ``/`` separators (metadata ``filePath``).
    rel_path: str
    module_name: str


@dataclass
class LoadedStream:
    config: StreamConfig
    file_path: Path
    rel_path: str
    module_name: str
