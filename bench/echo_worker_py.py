"""Benchmark worker on the official Python iii-sdk (used when node is not available)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

os.environ.setdefault("OTEL_ENABLED", "false")

from iii import InitOptions, register_worker

url, routes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
worker = register_worker(url, InitOptions(worker_name="bench-echo", enable_metrics_reporting=False))


async def echo(req: Any) -> Any:
    return {"status_code": 200, "body": req["body"]}


worker.register_function("bench::echo", echo)
worker.register_trigger({"type": "http", "function_id": "bench::echo",
                         "config": {"api_path": "/echo", "http_method": "POST"}})
for i in range(routes):
    worker.register_trigger({"type": "http", "function_id": "bench::echo",
                             "config": {"api_path": f"/r/{i}/items", "http_method": "POST"}})
    if i % 10 == 0:
        worker.register_trigger({"type": "http", "function_id": "bench::echo",
                                 "config": {"api_path": f"/p/{i}/:id", "http_method": "POST"}})
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
worker.shutdown()
