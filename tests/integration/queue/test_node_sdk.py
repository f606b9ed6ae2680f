"""The official Node SDK publishes, subscribes and enqueues against iii-queue."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.queue.conftest import queue_engine

HERE = Path(__file__).parent
CANDIDATES = [HERE.parents[1] / "interop" / "node" / "node_modules", Path("/tmp/nodeiii/node_modules")]


def node_modules() -> Path:
    if shutil.which("node") is None:
        pytest.skip("NODE NOT AVAILABLE: the Node iii-sdk queue test cannot run")
    for path in CANDIDATES:
        if (path / "iii-sdk" / "package.json").exists():
            return path
    pytest.skip("the Node iii-sdk is not installed (run the interop suite once, or npm i iii-sdk@0.22.1)")


def test_node_sdk_publish_subscribe_enqueue(tmp_path: Path) -> None:
    modules = node_modules()
    script = tmp_path / "node_queue.mjs"
    shutil.copy(HERE / "node_queue.mjs", script)
    (tmp_path / "node_modules").symlink_to(modules)
    engine = queue_engine(tmp_path).start()
    try:
        env = {**os.environ, "OTEL_ENABLED": "false"}
        proc = subprocess.run(["node", str(script), engine.url], capture_output=True, text=True, timeout=60, env=env)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        engine.stop()
    assert "failure" not in out, out
    assert out["received"] == [1, 2, 3]
    assert isinstance(out["receipt"]["messageReceiptId"], str)
    assert out["error"]["code"] == "enqueue_error" and "queue_not_found" in out["error"]["message"]
