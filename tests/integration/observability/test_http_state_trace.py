"""HTTP request (with a traceparent) -> HTTP span -> pyiii.sdk function -> state::set is one trace."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.integration.observability.support import call_until, python_worker, stop
from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker


async def test_http_function_state_is_one_trace(tmp_path: Path) -> None:
    http_port = free_port()
    proc = EngineProcess(tmp_path, workers=[
        {"name": "iii-observability", "config": {"enabled": True, "exporter": "memory"}},
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        {"name": "iii-state", "config": {"adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}},
    ]).start()
    wait_port(http_port)
    worker = python_worker("pyiii_http_worker.py", proc.url)
    try:
        trace = uuid.uuid4().hex
        async with httpx.AsyncClient() as http:

            async def routed() -> httpx.Response | None:
                response = await http.post(f"http://127.0.0.1:{http_port}/orders", json={"n": 1},
                                           headers={"traceparent": f"00-{trace}-{'a' * 16}-01"})
                return response if response.status_code != 404 else None

            response = await eventually(routed, what="POST /orders to be routed")
        assert response.status_code == 201
        client = await RawWorker.connect(proc.url)
        tree = await call_until(client, "engine::traces::tree", {"trace_id": trace},
                                lambda t: len(t["roots"]) == 1 and t["roots"][0]["children"]
                                and t["roots"][0]["children"][0]["children"])
        # The engine's HTTP server span (spec/workers.md §4.8) is parented by the request's
        # traceparent; the handler runs under it and its state::set under the handler.
        root = tree["roots"][0]
        assert root["name"] == "POST /orders" and root["parent_span_id"] == "a" * 16
        assert dict(root["attributes"])["http.response.status_code"] == "201"
        [handler] = root["children"]
        assert handler["name"] == "execute orders::create"
        assert dict(handler["attributes"])["iii.trigger.type"] == "http"
        assert [c["name"] for c in handler["children"]] == ["call state::set"]
        assert dict(handler["children"][0]["attributes"])["iii.worker.name"] == "iii-state"
        await client.close()
    finally:
        stop(worker)
        proc.stop()
