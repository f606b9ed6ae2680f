"""The official Node SDK publishes, subscribes and enqueues against iii-queue."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.integration.queue.conftest import queue_engine
from tests.support.node_sdk import node_sdk_dir

HERE = Path(__file__).parent


def test_node_sdk_publish_subscribe_enqueue(tmp_path: Path) -> None:
    modules = node_sdk_dir() / "node_modules"
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
