"""A worker process for fault tests: records every message it handled, one line each.

usage: fault_worker.py URL (topic|queue) NAME OUT_FILE DELAY_S
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OTEL_ENABLED", "false")

from iii import InitOptions, register_worker


def main() -> None:
    url, kind, name, out, delay = sys.argv[1:6]
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def handle(data: dict[str, int]) -> None:
        time.sleep(float(delay))
        os.write(fd, f"{data['n']}\n".encode())

    worker = register_worker(url, InitOptions(worker_name=f"fault-{kind}"))
    worker.register_function("fault.handle", handle)
    if kind == "topic":
        worker.register_trigger({"type": "durable:subscriber", "function_id": "fault.handle",
                                 "config": {"topic": name, "queue_config": {"concurrency": 16}}})
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
