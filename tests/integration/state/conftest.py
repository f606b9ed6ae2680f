"""The state suites' worker: an official-SDK client on an engine with iii-state on each adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.state.kvsupport import ADAPTERS, adapter_block, sdk_worker
from tests.support.engine import EngineProcess


@pytest.fixture(scope="module", params=ADAPTERS)
def worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    block = adapter_block(request.param)
    workers = [{"name": "iii-state", "config": {"adapter": block}}]
    proc = EngineProcess(tmp_path_factory.mktemp(request.param), workers=workers).start()
    try:
        with sdk_worker(proc.url) as w:
            yield w
    finally:
        proc.stop()
