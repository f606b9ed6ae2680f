"""pyiii.sdk worker with OTel export: an HTTP route whose handler writes state."""

import sys
import threading

from pyiii.sdk import InitOptions, register_worker

iii = register_worker(sys.argv[1], InitOptions(worker_name="pyiii-http", otel={"enabled": True,
                                                                           "service_name": "pyiii-http"}))


async def create(req, metadata=None):
    await iii.trigger_async({"function_id": "state::set",
                             "payload": {"scope": "orders", "key": "o1", "value": req.get("body")}})
    return {"status_code": 201, "body": {"ok": True}}


iii.register_function("orders::create", create)
iii.register_trigger({"type": "http", "function_id": "orders::create",
                      "config": {"api_path": "/orders", "http_method": "POST"}})
print("READY", flush=True)
threading.Event().wait()
