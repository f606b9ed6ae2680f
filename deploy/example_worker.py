"""A worker for the compose example: one function, one HTTP route, one queue subscriber.

It connects to ONE engine at a time and fails over between the engines listed in
``III_URLS`` (pyiii.sdk accepts a comma-separated list). Its function is callable from every
engine (iii-cluster proxies) and its route is served by every engine's HTTP port.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from pyiii.sdk import InitOptions, register_worker


def main() -> None:
    urls = os.environ.get("III_URLS", "ws://127.0.0.1:49134")
    worker = register_worker(urls, InitOptions(worker_name=os.environ.get("WORKER_NAME", "example")))

    def hello(request: dict[str, Any]) -> dict[str, Any]:
        name = (request.get("query_params") or {}).get("name", ["world"])
        return {"status_code": 200, "body": {"hello": name[0] if isinstance(name, list) else name,
                                             "served_by_worker": os.environ.get("HOSTNAME", "?")}}

    def on_order(data: Any) -> None:
        print("order received:", data, flush=True)

    worker.register_function("example.hello", hello)
    worker.register_trigger({"type": "http", "function_id": "example.hello",
                             "config": {"api_path": "hello", "http_method": "GET"}})
    worker.register_function("example.on_order", on_order)
    worker.register_trigger({"type": "durable:subscriber", "function_id": "example.on_order",
                             "config": {"topic": "orders"}})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    worker.shutdown()


if __name__ == "__main__":
    main()
