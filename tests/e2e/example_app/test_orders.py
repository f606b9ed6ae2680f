"""The example app end to end: HTTP → queue (with a retry) → Node fraud worker → state →
a WebSocket stream client sees the order; plus the live page and schema errors."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.project import DevProcess, link_cached_node_modules
from tests.support.waiting import eventually, eventually_sync

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "orders"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the example's fraud worker needs node")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    project = tmp_path_factory.mktemp("example") / "orders"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "data", "__pycache__"))
    link_cached_node_modules(project)  # offline machines: reuse the installed SDK + tsx, no `npm install`
    dev = DevProcess(project, "dev").start("/orders/live", timeout=90)
    try:
        yield dev
    finally:
        dev.stop()


async def wait_for_node(base: str) -> None:
    # The Node worker connects on its own schedule; an order processed before it is up would be
    # stored as unchecked, so wait for it through a probe order.
    async with httpx.AsyncClient() as client:

        async def checked_by_node() -> bool:
            probe = {"customer": "probe", "item": "x", "quantity": 1, "unit_price": 1}
            order_id = (await client.post(f"{base}/orders", json=probe)).json()["id"]

            async def stored() -> httpx.Response | None:
                r = await client.get(f"{base}/orders/{order_id}")
                return r if r.status_code == 200 else None

            try:
                r = await eventually(stored, 2, what="the probe order to be stored")
            except AssertionError:
                return False  # not processed yet: send another probe
            return bool(r.json()["fraud"]["checked_by"] == "node")

        await eventually(checked_by_node, 60, 0.1, what="the Node fraud worker to answer")


async def next_event(ws: Any, order_id: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if message.get("id") == order_id and message["event"]["type"] in ("create", "update"):
            return message


async def test_order_flows_from_http_to_a_stream_subscriber(app: DevProcess) -> None:
    await wait_for_node(app.base)
    async with connect(f"ws://127.0.0.1:{app.stream_port}/") as ws:
        await ws.send(json.dumps({"type": "join", "data": {"subscriptionId": "t", "streamName": "orders",
                                                             "groupId": "all"}}))
        sync = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert sync["event"]["type"] == "sync"
        order = {"customer": "ann", "item": "book", "quantity": 2, "unit_price": 12.5, "simulate_failure": True}
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{app.base}/orders", json=order)
            assert r.status_code == 202, r.text
            order_id = r.json()["id"]
            event = await next_event(ws, order_id)
            stored = (await client.get(f"{app.base}/orders/{order_id}")).json()
    data = event["event"]["data"]
    assert data["status"] == "processed" and data["customer"] == "ann"
    assert data["attempts"] == 2  # the simulated first failure was retried by the queue
    assert data["fraud"] == {"score": 0.0025, "flagged": False, "checked_by": "node"}
    assert stored == data


def test_big_orders_are_flagged_by_the_node_worker(app: DevProcess) -> None:
    asyncio.run(wait_for_node(app.base))
    r = httpx.post(f"{app.base}/orders", json={"customer": "bob", "item": "car", "quantity": 1, "unit_price": 9000})
    order_id = r.json()["id"]

    def stored() -> httpx.Response | None:
        got = httpx.get(f"{app.base}/orders/{order_id}")
        return got if got.status_code == 200 else None

    got = eventually_sync(stored, 10, what=f"order {order_id} to be stored")
    assert got.json()["status"] == "flagged" and got.json()["fraud"]["score"] == 0.9


def test_invalid_order_is_400_naming_the_fields(app: DevProcess) -> None:
    r = httpx.post(f"{app.base}/orders", json={"customer": "", "item": "x", "quantity": 0, "unit_price": 1})
    assert r.status_code == 400
    assert sorted(e["path"] for e in r.json()["error"]["details"]) == ["customer", "quantity"]


def test_live_page_and_its_script_are_served(app: DevProcess) -> None:
    page = httpx.get(f"{app.base}/orders/live")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f":{app.stream_port}/" in page.text and "subscribeGroup('orders', 'all'" in page.text
    script = httpx.get(f"{app.base}/static/stream-client.js")
    assert script.status_code == 200 and "export class StreamClient" in script.text
