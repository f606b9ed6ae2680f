"""A trigger the engine refuses is logged by pyiii.sdk naming what it runs (the step, else the
function), not only the binding's UUID."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyiii import InitOptions, register_worker
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    proc = EngineProcess(tmp_path, workers=[{"name": "iii-cron"}]).start()
    try:
        yield proc
    finally:
        proc.stop()


async def test_a_refused_trigger_names_its_step_or_function(engine: EngineProcess,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "pyiii.sdk")
    with register_worker(engine.url, InitOptions(worker_name="w")) as worker:
        worker.register_function("jobs::tick", lambda _data: None)
        worker.register_trigger({"type": "cron", "function_id": "jobs::tick", "config": {"expression": "bogus"}})
        worker.register_trigger({"type": "cron", "function_id": "jobs::tick", "config": {"expression": "nope"},
                                 "metadata": {"step": "Tick"}})

        def refusals() -> list[str]:
            return [r.getMessage() for r in caplog.records if "was refused" in r.getMessage()]

        got = await eventually(lambda: len(refusals()) == 2 and refusals(), what="both refusals")
    assert any(m.startswith("function 'jobs::tick': its cron trigger was refused: Invalid cron expression 'bogus'")
               for m in got), got
    assert any(m.startswith("step 'Tick': its cron trigger was refused: Invalid cron expression 'nope'")
               for m in got), got
