"""A queue-subscriber worker on the official SDK:
``queue_worker.py URL FUNCTION_ID TOPIC LOG MODE QUEUE_CONFIG_JSON``.

Every handler call appends ``<pid> <wall time>`` to LOG *before* it returns (the observed side
the checker reads; an attempt that raises is logged too). MODE:

* ``ok``: sleep 0–20 ms, succeed;
* ``poison``: payloads whose pid starts with ``poison`` raise, the others succeed;
* ``block``: an ``async`` handler that blocks the worker's event loop for ``block_s`` seconds.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from typing import Any

os.environ.setdefault("OTEL_ENABLED", "false")

from iii import InitOptions, register_worker


def main() -> None:
    url, function_id, topic, log_path, mode, queue_config = sys.argv[1:7]
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(data: dict[str, Any]) -> None:
        os.write(fd, f"{data.get('pid')} {time.time():.6f}\n".encode())

    def handle(data: dict[str, Any]) -> None:
        if mode == "ok":
            time.sleep(random.uniform(0, 0.02))
        record(data)
        if mode == "poison" and str(data.get("pid", "")).startswith("poison"):
            raise RuntimeError("poison message")

    async def block(data: dict[str, Any]) -> None:
        time.sleep(float(data.get("block_s", 5)))  # noqa: ASYNC251 - blocking the loop is the fault
        record(data)

    worker = register_worker(url, InitOptions(worker_name=f"faults-queue-{os.getpid()}",
                                              enable_metrics_reporting=False))
    worker.register_function(function_id, block if mode == "block" else handle)
    worker.register_trigger({"type": "durable:subscriber", "function_id": function_id,
                             "config": {"topic": topic, "queue_config": json.loads(queue_config)}})
    threading.Event().wait()


if __name__ == "__main__":
    main()
