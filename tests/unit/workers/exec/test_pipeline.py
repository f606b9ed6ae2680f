"""``ExecWorker._run_pipeline``: setup commands, then the long-running one (real child processes,
a few milliseconds each; no engine)."""

from __future__ import annotations

import sys
from pathlib import Path

from pyiii.core import Host
from pyiii.core.engine import Engine
from pyiii.workers.base import WorkerContext
from pyiii.workers.exec.config import ExecConfig
from pyiii.workers.exec.worker import ExecWorker


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def worker(tmp_path: Path, *commands: list[str]) -> ExecWorker:
    config = ExecConfig(exec=list(commands), stop_grace_ms=2000)
    return ExecWorker(Host(Engine()), config, "iii-exec", WorkerContext(tmp_path, tmp_path))


async def test_setup_commands_run_in_order_then_the_last_one(tmp_path: Path) -> None:
    log = tmp_path / "log"
    append = "import sys; open(sys.argv[1], 'a').write(sys.argv[2])"
    w = worker(tmp_path, [*python(append), str(log), "1"], [*python(append), str(log), "2"],
               [*python(append), str(log), "3"])
    assert await w._run_pipeline() == "exited"
    assert log.read_text() == "123"


async def test_a_failing_setup_command_stops_the_pipeline(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    w = worker(tmp_path, python("raise SystemExit(3)"), python(f"open({str(marker)!r}, 'w')"))
    assert await w._run_pipeline() == "failed"
    assert not marker.exists()


async def test_a_restart_asked_while_a_command_runs_stops_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    w = worker(tmp_path, python("import time; time.sleep(60)"), python(f"open({str(marker)!r}, 'w')"))
    w._restart.set()  # asked before the setup command ends: it is stopped, nothing after it runs
    assert await w._run_pipeline() == "restart"
    assert w._current is not None and w._current.returncode is not None
    assert not marker.exists()
