"""pyiii.sdk worker (OTel on): a ``state`` trigger projects stored orders into the ``e2e_orders``
stream; a pub/sub subscriber of ``e2e.audit`` that always fails."""

import sys
import threading

from pyiii.sdk import InitOptions, register_worker

iii = register_worker(sys.argv[1], InitOptions(worker_name="e2e-pyiii", otel={"enabled": True,
                                                                         "service_name": "e2e-pyiii"}))


async def project(event, metadata=None):
    await iii.trigger_async({"function_id": "stream::set", "payload": {
        "stream_name": "e2e_orders", "group_id": "all", "item_id": event["key"], "data": event["new_value"]}})
    return None


async def audit(order, metadata=None):
    raise RuntimeError(f"audit rejected order {order['id']}")


iii.register_function("e2e::project_order", project)
iii.register_trigger({"type": "state", "function_id": "e2e::project_order", "config": {"scope": "e2e_orders"}})
iii.register_function("e2e::audit", audit)
iii.register_trigger({"type": "subscribe", "function_id": "e2e::audit", "config": {"topic": "e2e.audit"}})
print("READY", flush=True)
threading.Event().wait()
