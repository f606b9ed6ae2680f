"""Official Python iii-sdk worker: py::entry logs, then calls node::middle (same trace)."""

import sys
import threading

from iii import InitOptions, register_worker
from iii_helpers.observability import Logger

iii = register_worker(sys.argv[1], InitOptions(worker_name="py-official", otel={"service_name": "py-official"}))
logger = Logger()


async def entry(data):
    logger.info("py entry", {"step": "py"})
    out = await iii.trigger_async({"function_id": "node::middle", "payload": data})
    return {"py": True, "next": out}


iii.register_function("py::entry", entry)
print("READY", flush=True)
threading.Event().wait()
