"""Official Python iii-sdk worker (OTel on): POST /e2e/orders publishes the order to the durable
topic ``e2e.orders`` and to the pub/sub topic ``e2e.audit``."""

import sys
import threading

from iii import InitOptions, register_worker

iii = register_worker(sys.argv[1], InitOptions(worker_name="e2e-py-http", otel={"service_name": "e2e-py-http"}))


async def create_order(req):
    order = req["body"]
    await iii.trigger_async({"function_id": "iii::durable::publish", "payload": {"topic": "e2e.orders", "data": order}})
    await iii.trigger_async({"function_id": "publish", "payload": {"topic": "e2e.audit", "data": order}})
    return {"status_code": 201, "body": {"accepted": order["id"]}}


iii.register_function("e2e::create_order", create_order)
iii.register_trigger({"type": "http", "function_id": "e2e::create_order",
                      "config": {"api_path": "/e2e/orders", "http_method": "POST"}})
print("READY", flush=True)
threading.Event().wait()
