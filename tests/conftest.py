"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """A real engine process with only the mandatory workers, on a free port."""
    proc = EngineProcess(tmp_path).start()
    try:
        yield proc
    finally:
        proc.stop()
