from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http.support import HttpEngine, sdk_worker


@pytest.fixture(scope="module")
def http_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpEngine]:
    eng = HttpEngine(tmp_path_factory.mktemp("http"), {"max_body_bytes": 1_000_000, "default_timeout": 3000}).start()
    try:
        yield eng
    finally:
        eng.stop()


@pytest.fixture(scope="module")
def worker(http_engine: HttpEngine) -> Iterator[Any]:
    with sdk_worker(http_engine.proc.url) as w:
        yield w
