"""A worker process on the official SDK: ``sdk_worker.py URL FUNCTION_ID LOG [MIN_MS MAX_MS]``.

The handler sleeps a random time, appends the payload's ``pid`` to LOG (the observed side
effect the checker reads) and returns it. Killed with -9 by the fault tests."""

from __future__ import annotations

import os
import random
import sys
import threading
import time

os.environ.setdefault("OTEL_ENABLED", "false")

from iii import InitOptions, register_worker


def main() -> None:
    url, function_id, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
    lo, hi = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (0, 50)
    log = open(log_path, "a", buffering=1)
    lock = threading.Lock()

    def handler(data: dict[str, object]) -> object:
        time.sleep(random.uniform(lo, hi) / 1000)
        with lock:
            log.write(f"{data.get('pid')}\n")
        return {"pid": data.get("pid"), "worker": os.getpid()}

    worker = register_worker(url, InitOptions(worker_name=f"fault-{os.getpid()}", enable_metrics_reporting=False))
    worker.register_function(function_id, handler)
    threading.Event().wait()


if __name__ == "__main__":
    main()
