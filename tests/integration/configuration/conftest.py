from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.integration.configuration.support import ENV_NAME, ENV_VALUE, engine
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker


@pytest.fixture(scope="module")
def cfg_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    os.environ[ENV_NAME] = ENV_VALUE  # inherited by the engine process
    proc = engine(tmp_path_factory.mktemp("configuration")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def client(cfg_engine: EngineProcess) -> AsyncIterator[RawWorker]:
    w = await RawWorker.connect(cfg_engine.url)
    try:
        yield w
    finally:
        await w.close()
