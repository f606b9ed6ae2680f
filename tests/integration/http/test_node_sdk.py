"""The official Node iii-sdk registers HTTP triggers; real HTTP requests reach its handlers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.integration.http.support import HttpEngine, wait_route
from tests.support.node_sdk import node_sdk_dir

SCRIPT = Path(__file__).with_name("node_worker.mjs")


def test_node_worker_routes(http_engine: HttpEngine) -> None:
    node_sdk = node_sdk_dir() / "node_modules" / "iii-sdk"
    proc = subprocess.Popen(["node", str(SCRIPT), http_engine.proc.url, str(node_sdk)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        response = wait_route(http_engine.base, "POST", "/node/7?x=1", json={"hello": "node"})
        assert response.status_code == 201 and response.headers["x-runtime"] == "node"
        assert response.json() == {"params": {"id": "7"}, "query": {"x": "1"}, "body": {"hello": "node"}}

        wait_route(http_engine.base, "PUT", "/node-upload", content=b"abc")
        payload = b"xyz" + b"0" * 300_000
        response = httpx.put(http_engine.base + "/node-upload", content=payload)
        assert response.json() == {"size": len(payload), "first": "xyz"}

        response = wait_route(http_engine.base, "GET", "/node-stream")
        assert response.status_code == 206 and response.headers["content-type"] == "text/plain"
        assert response.text.splitlines() == [f"line {i}" for i in range(50)]
    finally:
        proc.terminate()
        proc.wait(5)
