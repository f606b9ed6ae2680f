"""Steps test helpers: an engine with the workers steps use, a project folder, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyiii.steps.steps_runner import LoadReport, StepsRunner
from tests.support.engine import EngineProcess, free_port


@dataclass
class StepsEngine:
    proc: EngineProcess
    http_port: int
    stream_port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def workers(http_port: int, stream_port: int) -> list[dict[str, Any]]:
    return [
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        {"name": "iii-state"},
        {"name": "iii-stream", "config": {"port": stream_port, "host": "127.0.0.1"}},
        {"name": "iii-queue"},
        {"name": "iii-cron"},
    ]


@contextmanager
def steps_engine(workdir: Path) -> Iterator[StepsEngine]:
    http_port, stream_port = free_port(), free_port()
    proc = EngineProcess(workdir, workers=workers(http_port, stream_port)).start()
    try:
        yield StepsEngine(proc, http_port, stream_port)
    finally:
        proc.stop()


@contextmanager
def running(project: Path, url: str) -> Iterator[tuple[StepsRunner, LoadReport]]:
    runner = StepsRunner(project, url)
    report = runner.start()
    try:
        yield runner, report
    finally:
        runner.stop()
