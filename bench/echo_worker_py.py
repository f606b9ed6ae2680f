"""B1/B5 echo worker on the official Python iii-sdk (``iii``): POST /echo returns the JSON body;
with a route count R it also registers R static routes /r/<i>/items plus R/10 parameterised
routes /p/<i>/:id. bench/echo_worker_pyiii.py runs the same worker on pyiii.sdk.

    python bench/echo_worker_py.py <engine ws url> [R]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

os.environ.setdefault("OTEL_ENABLED", "false")


async def echo(req: Any) -> Any:
    return {"status_code": 200, "body": req["body"]}


def serve(register_worker: Any, init_options: Any) -> None:
    """Register the echo function and its routes with ``register_worker`` (iii-sdk's or a
    compatible SDK's), then serve until SIGTERM."""
    url, routes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
    worker = register_worker(url, init_options(worker_name="bench-echo", enable_metrics_reporting=False))
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


if __name__ == "__main__":
    from iii import InitOptions, register_worker

    serve(register_worker, InitOptions)
