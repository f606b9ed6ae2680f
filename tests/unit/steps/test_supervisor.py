"""The steps-process supervisor of ``pyiii dev --steps-in process`` (devserver.ProcessSteps) on a
child that keeps crashing: restarted with a doubling, capped backoff, each death reported with its
exit status and last output, ``alive`` false while it is down, and ``stop`` ends the cycle."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from pyiii.devserver import ProcessSteps, describe_changes, describe_exit, fingerprint
from pyiii.engine_config import parse
from tests.support.waiting import eventually


class Crashing(ProcessSteps):
    BACKOFF_START = 0.05
    BACKOFF_CAP = 0.2

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, "ws://127.0.0.1:1", watch=False)
        self.argv = [sys.executable, "-c", "import sys; print('line one'); print('boom', file=sys.stderr); "
                                           "sys.exit(2)"]


async def test_a_crashing_child_is_restarted_with_a_capped_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pyiii")
    steps = Crashing(tmp_path)
    down: list[bool] = []
    reasons: list[str] = []

    def health_reason() -> bool:
        try:
            steps.health()
        except RuntimeError as exc:
            reasons.append(str(exc))
        return bool(reasons)

    await steps.start()
    try:
        await eventually(health_reason, timeout=30, what="the health check failing")
        await eventually(lambda: down.append(not steps.alive) or steps.restarts >= 5, timeout=30,
                         what="five restarts")
    finally:
        await steps.stop()
    assert any(down), "alive was never false between the crashes"
    assert "the steps process died (exit code 2); restart" in reasons[0]
    delays = [float(d) for d in re.findall(r"restarting it in ([\d.]+) s", caplog.text)]
    assert delays[:4] == [0.05, 0.1, 0.2, 0.2]  # doubling, capped
    assert "the steps process died (exit code 2)" in caplog.text
    assert "    | boom" in caplog.text and "line one" not in caplog.text  # stderr only
    assert steps.last_exit == "exit code 2"
    restarts = steps.restarts
    assert steps.proc is not None and steps.proc.returncode is not None
    assert restarts == steps.restarts  # stopped: no more restarts


async def test_stop_ends_a_running_child_without_a_report(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    steps = ProcessSteps(tmp_path, "ws://127.0.0.1:1", watch=False)
    steps.argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    await steps.start()
    assert steps.alive
    await steps.stop()
    assert not steps.alive and steps.restarts == 0
    assert "died" not in caplog.text


def test_describe_exit() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exit code 3"


def test_describe_changes() -> None:
    old = fingerprint(parse("workers:\n  - name: iii-http\n    config: {port: 3111}\n  - name: iii-queue\n"))
    new = fingerprint(parse("workers:\n  - name: iii-http\n    config: {port: 3115}\n  - name: iii-cron\n"))
    assert describe_changes(old, new) == ["added iii-cron", "removed iii-queue", "iii-http: port 3111 -> 3115"]
    assert describe_changes(old, old) == []
