"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

from tests.support.engine import EngineProcess

# hypothesis' pytest plugin imports hypothesis in its terminal summary when no test did; on
# CPython 3.11.7 pytest's assertion rewrite of it can then die with "AST constructor recursion
# depth mismatch" after the session (a CPython bug), failing a green run. Importing it here,
# before any test runs, avoids that.


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    """A real engine process with only the mandatory workers, on a free port."""
    proc = EngineProcess(tmp_path).start()
    try:
        yield proc
    finally:
        proc.stop()
