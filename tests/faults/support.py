"""Shared helpers of the fault suite: worker processes, engine introspection, scale knobs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.engine import REPO, EngineProcess
from tests.support.wire import RawWorker, wait_function

#: ``python -m tests.faults.run --full`` sets these; CI runs the small defaults.
FULL = os.environ.get("PYIII_FAULTS_FULL") == "1"
SEED = int(os.environ.get("PYIII_FAULTS_SEED", "1"))
OPS = int(os.environ.get("PYIII_FAULTS_OPS", "10000" if FULL else "300"))
FAULTS = int(os.environ.get("PYIII_FAULTS_COUNT", "20" if FULL else "4"))
RESULTS = Path(os.environ.get("PYIII_FAULTS_RESULTS", REPO / ".faults-results"))


def spawn_worker(url: str, function_id: str, log: Path, lo_ms: int = 0, hi_ms: int = 50) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OTEL_ENABLED": "false", "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.procs.sdk_worker", url, function_id, str(log), str(lo_ms), str(hi_ms)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def spawn_ready(client: RawWorker, url: str, function_id: str, log: Path, lo: int = 0,
                      hi: int = 50) -> subprocess.Popen[bytes]:
    proc = spawn_worker(url, function_id, log, lo, hi)
    await wait_function(client, function_id, timeout=20)
    return proc


async def pending_total(client: RawWorker) -> int:
    """Sum of ``active_invocations`` over every connected worker (the engine's pending map)."""
    res = await client.call("engine::workers::list", {})
    workers: list[dict[str, Any]] = res.get("result", {}).get("workers", [])
    return sum(int(w.get("active_invocations", 0)) for w in workers)


def engine_pid(engine: EngineProcess) -> int:
    assert engine.proc is not None
    return engine.proc.pid
