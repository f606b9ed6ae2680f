"""pyiii.sdk worker with OpenTelemetry export on: pyiii::leaf logs and answers."""

import sys
import threading

from pyiii.sdk import InitOptions, Logger, register_worker

iii = register_worker(sys.argv[1], InitOptions(worker_name="pyiii-sdk", otel={"enabled": True,
                                                                          "service_name": "pyiii-sdk"}))
logger = Logger(service_name="pyiii-sdk")


async def leaf(data, metadata=None):
    logger.info("pyiii leaf", {"step": "pyiii", "input": data})
    return {"leaf": True}


iii.register_function("pyiii::leaf", leaf)
print("READY", flush=True)
threading.Event().wait()
