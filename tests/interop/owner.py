"""A Python SDK worker in its own process, for tests that kill it with -9.

Usage: ``owner.py official|pyiii <engine url> <function id>``. Registers ``<function id>``,
whose handler prints ``{"event": "invoked", ...}`` and never answers; prints
``{"event": "ready", "worker_id": ...}`` once the function is registered.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path


def main() -> None:
    kind, url, function_id = sys.argv[1:4]
    if kind == "official":
        from iii import InitOptions, register_worker
    else:
        from pyiii.sdk import InitOptions, register_worker

    worker = register_worker(
        url, InitOptions(worker_name=f"owner-{kind}", enable_metrics_reporting=False, otel={"enabled": False})
    )
    never = threading.Event()

    async def hang(data: object) -> object:
        print(json.dumps({"event": "invoked", "data": data}), flush=True)
        await asyncio.Event().wait()  # never set: the call only ends when the process dies
        return None

    worker.register_function(function_id, hang)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository root
    from tests.support.waiting import eventually_sync

    eventually_sync(lambda: worker.worker_id is not None, 20, 0.01, what="a worker id")
    print(json.dumps({"event": "ready", "worker_id": worker.worker_id}), flush=True)
    never.wait()


if __name__ == "__main__":
    main()
