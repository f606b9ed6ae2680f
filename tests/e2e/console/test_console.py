"""The console in a real browser against a real engine running the orders example.

Order matters a little: the actions first (they leave data behind), then a tour of every view
that asserts real data and saves the screenshots shown in docs/console.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.e2e.console.conftest import SCREENSHOTS, Console, wait
from tests.support.engine import free_port

ORDER = {"customer": "ada", "item": "lamp", "quantity": 2, "unit_price": 30}


def place_order(console: Console, **extra: Any) -> str:
    order_id = httpx.post(f"{console.dev.base}/orders", json={**ORDER, **extra}).json()["id"]
    wait(lambda: httpx.get(f"{console.dev.base}/orders/{order_id}").status_code == 200)
    return str(order_id)


def open_view(page: Any, console: Console, view: str) -> None:
    page.goto(f"{console.url}/#/{view}")
    page.wait_for_selector(f"section.view[data-view={view}]")


def test_request_from_endpoints_view_produces_a_trace(page: Any, console: Console) -> None:
    open_view(page, console, "endpoints")
    page.locator("table[data-table=endpoints] tr", has_text="/orders").filter(has_text="POST").first.click()
    body = page.locator("textarea[data-name=body]")
    body.wait_for()
    assert json.loads(body.input_value())["customer"] == "x"  # prefilled from the pydantic body schema
    body.fill(json.dumps({**ORDER, "customer": "from-console"}))
    page.click("button[data-action=send]")
    response = page.locator("pre[data-response]")
    response.wait_for()
    assert page.locator("[data-status='202']").count() == 1
    order_id = json.loads(response.inner_text())["id"]
    wait(lambda: httpx.get(f"{console.dev.base}/orders/{order_id}").status_code == 200)
    assert httpx.get(f"{console.dev.base}/orders/{order_id}").json()["customer"] == "from-console"

    # The request's trace, found by searching the traces view for the route.
    traces = console.api("traces", {"search": "orders", "limit": 50})
    if not traces.get("spans"):
        pytest.xfail("no spans recorded for HTTP requests yet (observability still landing); response asserted")
    open_view(page, console, "traces")
    page.fill("section.view input[type=search]", "orders")
    page.locator("table[data-table=traces] tbody tr").first.click()
    page.wait_for_selector(".waterfall .wf-row")
    assert page.locator(".waterfall .wf-row").count() >= 1


def test_state_edited_in_the_console_is_seen_by_a_function(page: Any, console: Console) -> None:
    order_id = place_order(console, customer="before-edit")
    open_view(page, console, "state")
    page.click("li[data-group=orders]")
    page.locator("table[data-table=state] tr", has_text=order_id).first.click()
    editor = page.locator("textarea[data-name=value]")
    wait(lambda: order_id in editor.input_value())
    value = json.loads(editor.input_value())
    editor.fill(json.dumps({**value, "customer": "edited-in-console"}))
    page.click("button[data-action=save]")
    # GetOrder (a step function) reads state::get: it sees the console's write.
    wait(lambda: httpx.get(f"{console.dev.base}/orders/{order_id}").json()["customer"] == "edited-in-console")


def test_dead_letter_redriven_from_the_console_is_processed(page: Any, console: Console) -> None:
    # Publish by hand from the triggers view: FlakyJob fails (no flag) and lands in the DLQ.
    open_view(page, console, "triggers")
    page.fill("input[data-name=topic]", "console.flaky")
    page.locator("textarea[data-name=publish-data]").fill('{"n": 7}')
    page.click("button[data-action=publish]")
    wait(lambda: any(d["topic"] == "console.flaky" and d["message_count"] >= 1 for d in console.api("queues")["dlq"]))

    # Set the flag through the console's state editor (a new key in a new group).
    open_view(page, console, "state")
    page.fill("input[data-name=new-group]", "console-test")
    page.locator("input[data-name=new-group] + button").click()
    page.fill("input[data-name=key]", "allow")
    page.locator("textarea[data-name=value]").fill('{"allow": true}')
    page.click("button[data-action=save]")
    wait(lambda: console.api("state/get", {"scope": "console-test", "key": "allow"})["value"] == {"allow": True})

    open_view(page, console, "queues")
    page.click("button[data-dlq='console.flaky']")
    row = page.locator("table[data-table=dlq] tbody tr", has_text="flag console-test/allow is not set").first
    row.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "queues.png"))
    row.locator("button[data-action=redrive]").click()
    wait(lambda: console.api("state/get", {"scope": "console-test", "key": "done-7"})["value"] == {"processed": True})


def test_keyboard_invoke_and_cron_run_now(page: Any, console: Console) -> None:
    open_view(page, console, "flows")
    page.keyboard.press("g")
    page.keyboard.press("f")
    page.wait_for_selector("section.view[data-view=functions]")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.type") == "search"
    page.keyboard.type("GetOrder")
    # the list loads asynchronously: j/Enter only mean something once it shows the filtered rows
    rows = page.locator("table[data-table=functions] tbody tr")
    wait(lambda: rows.count() > 0 and all("GetOrder" in t for t in rows.all_inner_texts()))
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector("button[data-action=invoke]")
    order_id = place_order(console)
    page.locator("textarea[data-name=payload]").fill(json.dumps({"path_params": {"id": order_id}}))
    page.click("button[data-action=invoke]")
    result = page.locator("pre[data-result*='GetOrder']")
    wait(lambda: order_id in result.inner_text())

    page.keyboard.press("4")  # the fourth view: triggers (after overview, flows, functions)
    page.wait_for_selector("section.view[data-view=triggers]")
    page.locator("table[data-table=triggers] tr", has_text="ConsoleTick").locator("button[data-action=run-now]").click()
    wait(lambda: console.api("state/get", {"scope": "console-test", "key": "tick"})["value"] is not None)


def test_stream_updates_arrive_live(page: Any, console: Console) -> None:
    open_view(page, console, "streams")
    page.wait_for_selector("li[data-key='orders/all'].active")
    page.wait_for_selector(".badge.good:text('open')")
    order_id = place_order(console, customer="live-watch")
    page.locator("table[data-table=stream-items] tr", has_text=order_id).wait_for()
    page.locator(".event[data-event=create], .event[data-event=update]").first.wait_for()


VIEWS = {  # view -> text only real data from the engine can put there
    "overview": "steps::CreateOrder", "flows": "ProcessOrder", "functions": "steps::CreateOrder",
    "triggers": "0 */5 * * * *",
    "types": "durable:subscriber", "workers": "steps", "endpoints": "/orders/:id", "logs": "order accepted",
    "traces": None, "state": "orders", "streams": "orders", "queues": "order.created",
}


def test_every_view_shows_real_data(page: Any, console: Console) -> None:
    place_order(console)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for view, text in VIEWS.items():
        open_view(page, console, view)
        if text:
            page.locator("section.view", has_text=text).wait_for()
        if view == "flows":
            page.wait_for_selector("svg.flow path.edge[data-topic='order.created']", state="attached")
            assert page.locator("svg.flow g.node").count() >= 5  # every Python step is a node
            page.click("g.node[data-step=steps-orders-process-order-step]")
        elif view == "functions":
            page.locator("table[data-table=functions] tr", has_text="CreateOrder").first.click()
            page.wait_for_selector("button[data-action=invoke]")
        elif view == "endpoints":
            page.locator("table[data-table=endpoints] tr", has_text="/orders/:id").first.click()
            page.fill("input[data-param=id]", "abc")
        elif view == "logs":
            page.locator("table[data-table=logs] tbody tr", has_text="order accepted").first.click()
        elif view == "traces":
            page.wait_for_timeout(500)
            if page.locator("table[data-table=traces] tbody tr td.empty").count() == 0:
                page.locator("table[data-table=traces] tbody tr").first.click()
                page.wait_for_selector(".waterfall")
        elif view == "state":
            page.click("li[data-group=orders]")
            page.locator("table[data-table=state] tbody tr").first.click()
        elif view == "streams":
            page.locator("table[data-table=stream-items] tbody tr").first.wait_for()
        elif view == "queues" and (SCREENSHOTS / "queues.png").exists():
            continue  # the dead-letter test took a better one
        page.wait_for_timeout(300)
        page.screenshot(path=str(SCREENSHOTS / f"{view}.png"))
    open_view(page, console, "flows")
    page.wait_for_selector("svg.flow g.node")
    page.wait_for_timeout(300)
    page.keyboard.press("t")  # theme toggle
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.screenshot(path=str(SCREENSHOTS / "flows-light.png"))


def test_pyiii_console_serves_any_running_engine(browser: Any, console: Console) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyiii", "console", "--engine", f"ws://127.0.0.1:{console.dev.engine_port}",
         "--port", str(port), "--http-port", str(console.dev.http_port), "--ws-port", str(console.dev.stream_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait(lambda: httpx.get(url + "/api/workers", timeout=1).status_code == 200)
        names = {w["name"] for w in httpx.get(url + "/api/workers").json()["workers"]}
        assert {"steps", "iii-console"} <= names  # it joined the engine as a worker
        run = httpx.post(url + "/api/request", json={"method": "GET", "path": "/orders/nope"}).json()
        assert run["status"] == 404
        page = browser.new_page()
        page.goto(url + "/#/flows")
        page.wait_for_selector("svg.flow g.node")
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_thousands_of_state_items_are_paged(page: Any, console: Console) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:  # Playwright owns this thread's loop
        list(pool.map(lambda i: client.post(f"{console.url}/api/state/set", json={
            "scope": "bulk", "key": f"k{i:04d}", "value": {"id": f"k{i:04d}", "i": i}}), range(2000)))
    started = time.monotonic()
    open_view(page, console, "state")
    page.click("li[data-group=bulk]")
    page.locator(".page-info", has_text="of 2,000").wait_for()
    assert page.locator("table[data-table=state] tbody tr").count() == 50
    page.keyboard.press("]")
    page.locator(".page-info", has_text="51–100").wait_for()
    assert page.locator("table[data-table=state] tbody tr", has_text="k0").count() == 50  # keys found for the page
    assert time.monotonic() - started < 10
