"""Issue 20 items 7–11 in a real browser: the overview page, the trace waterfall's axis and
durations, the error filter, log lines linked to their trace with readable stack traces, state
values without an `id`, dead letters naming their function, cron next/last run, and tables that
keep ids and durations on one line."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.e2e.console.conftest import SCREENSHOTS, Console, wait
from tests.e2e.console.test_console import open_view, place_order


def failing_order(console: Console) -> str:
    """An order whose first ProcessOrder attempt fails (the queue retries it): a trace whose root,
    the HTTP request, is fine while a span under it failed."""
    return place_order(console, simulate_failure=True)


def error_log_of(console: Console, order_id: str) -> dict[str, Any] | None:
    """The "error in handler" log of the order's failed attempt, once it names its trace."""
    logs = console.api("logs", {"severity_min": 17, "search": order_id, "limit": 50})["logs"]
    return next((entry for entry in logs if entry.get("trace_id")), None)


def test_overview_is_the_first_page_and_shows_real_traffic(page: Any, console: Console) -> None:
    for _ in range(3):
        place_order(console)
    console.api("publish", {"topic": "console.fails", "data": {"n": 1}})
    wait(lambda: console.api("overview")["dlq"]["total"] >= 1)
    wait(lambda: any(f["function_id"].startswith("steps::CreateOrder") and f["calls"] >= 3
                     for f in console.api("overview")["functions"]))
    overview = console.api("overview")

    page.goto(console.url + "/")  # no route: the overview
    page.wait_for_selector("section.view[data-view=overview]")
    assert page.locator("#nav a.active").inner_text().startswith("◉")

    def stat(name: str) -> str:
        return str(page.locator(f"[data-stat={name}] .stat-value").inner_text())

    wait(lambda: stat("calls") != "0")
    calls = int(stat("calls").replace(",", ""))
    assert calls >= overview["invocations"]["total"] >= 3 * 3  # create + process + get per order, at least
    assert calls < overview["invocations"]["all_total"]  # the engine functions' calls are not the app's
    assert int(stat("dlq")) >= 1
    assert int(stat("workers")) == len(console.api("workers")["workers"])
    assert re.fullmatch(r"\d+(\.\d)?%", stat("error-rate")), stat("error-rate")
    assert stat("error-rate") != "0%"  # AlwaysFails failed
    assert stat("latency").endswith(("ms", " s"))  # the slowest function's p99
    # p50 / p99 per function, from the engine's metrics
    row = page.locator("table[data-table=overview-functions] tbody tr", has_text="steps::CreateOrder").first
    cells = row.locator("td").all_inner_texts()
    assert int(cells[2].replace(",", "")) >= 3 and cells[4].endswith(("ms", " s")) and cells[5].endswith(("ms", " s"))
    # the chart has a bar for this minute, the dead letters and the workers are listed
    assert page.locator("svg.chart rect.bar").count() >= 1
    page.locator("[data-dlq-topic='console.fails']").wait_for()
    page.locator("[data-worker=steps]").wait_for()
    # recent failures: AlwaysFails' trace, and its error log
    page.locator("[data-failure-trace]").first.wait_for()
    page.locator("[data-failure-log]", has_text="AlwaysFails").first.wait_for()
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overview.png"))
    # a failure opens its trace
    page.locator("[data-failure-trace]").first.click()
    page.wait_for_selector("section.view[data-view=traces] .waterfall")


def test_error_filter_finds_a_trace_whose_root_is_ok_and_the_waterfall_has_an_axis(page: Any, console: Console) -> None:
    order_id = failing_order(console)
    wait(lambda: error_log_of(console, order_id) is not None, timeout=20)
    log = error_log_of(console, order_id)
    assert log is not None
    listed = console.api("traces", {"status": "error", "trace_id": log["trace_id"]})["spans"]
    assert len(listed) == 1
    trace = listed[0]
    assert trace["name"].startswith("POST") and trace["status"] != "error" and trace["tags"]["error_count"] >= 1

    open_view(page, console, "traces")
    page.select_option("select[data-name=status]", "error")
    row = page.locator("table[data-table=traces] tbody tr", has_text=trace["trace_id"][:10]).first
    row.wait_for()
    assert row.locator(".badge.bad").count() == 1
    statuses = page.locator("table[data-table=traces] tbody tr td:nth-child(6)").all_inner_texts()
    assert all("error" in t for t in statuses)
    row.click()
    page.wait_for_selector(".waterfall .wf-row[data-span]")
    # a time axis with ticks from 0, and a duration on every span
    ticks = page.locator(".waterfall .wf-axis .wf-tick").all_inner_texts()
    assert len(ticks) >= 3 and ticks[0] in ("0.00 ms", "0 ms"), ticks
    spans = page.locator(".waterfall .wf-row[data-span]")
    durations = spans.locator(".wf-dur").all_inner_texts()
    assert len(durations) == spans.count() >= 2
    assert all(re.fullmatch(r"\d+(\.\d+)? (ms|s)", d) for d in durations), durations
    assert page.locator(".waterfall .wf-row.failed").count() >= 1  # the failed span is marked
    # the trace id is one line, cut, whole in its tooltip, with a copy button
    title = page.locator(".trace-title code[data-trace-id]")
    assert title.get_attribute("title") == trace["trace_id"]
    assert _one_line(page, ".trace-title")
    assert page.locator(".trace-title button.copy").count() == 1
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "traces.png"))


def test_cron_traces_are_named_after_their_step(console: Console) -> None:
    def cron_traces() -> list[dict[str, Any]]:
        return [s for s in console.api("traces", {"search": "ConsoleHeartbeat", "limit": 20})["spans"]
                if s["name"].startswith("cron ")]

    wait(lambda: bool(cron_traces()), timeout=20)
    assert all("steps::ConsoleHeartbeat" in s["name"] for s in cron_traces())
    assert not console.api("traces", {"name": "cron_trigger", "limit": 5})["spans"]


def test_an_error_log_links_to_its_trace_and_shows_its_stack_trace(page: Any, console: Console) -> None:
    order_id = failing_order(console)
    wait(lambda: error_log_of(console, order_id) is not None, timeout=20)
    log = error_log_of(console, order_id)
    assert log is not None
    open_view(page, console, "logs")
    page.fill("section.view input[type=search]", order_id)
    page.select_option("select[data-name=level]", "ERROR")
    row = page.locator("table[data-table=logs] tbody tr.sev-error").first
    row.wait_for()
    link = row.locator(f"a[data-trace-link='{log['trace_id']}']")
    assert link.count() == 1
    row.click()
    stack = page.locator(".detail-pane pre[data-stack]")
    stack.wait_for()
    text = stack.inner_text()
    assert "Traceback (most recent call last):" in text and "\\n" not in text
    assert len(text.splitlines()) > 3  # real lines, not one JSON string
    assert "simulated failure of order" in text
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "logs-error.png"))
    link.click()
    page.wait_for_selector("section.view[data-view=traces] .waterfall .wf-row[data-span]")
    assert page.locator("input[data-name=trace]").input_value() == log["trace_id"]


def test_a_state_value_without_id_shows_its_key_and_can_be_edited(page: Any, console: Console) -> None:
    httpx.post(f"{console.url}/api/state/set", json={"scope": "shop-stats", "key": "latest",
                                                       "value": {"orders": 3, "revenue": 90}})
    order_id = place_order(console)  # order-attempts/<id> = {"n": 1}: no id field either
    wait(lambda: console.api("state/get", {"scope": "order-attempts", "key": order_id})["value"] is not None)
    open_view(page, console, "state")
    page.click("li[data-group=shop-stats]")
    row = page.locator("table[data-table=state] tbody tr", has_text="latest").first
    row.wait_for()
    assert row.locator("td").first.inner_text() == "latest"
    assert page.locator("table[data-table=state]", has_text="(unknown key)").count() == 0
    row.click()
    assert page.locator("input[data-name=key]").input_value() == "latest"
    editor = page.locator("textarea[data-name=value]")
    wait(lambda: json.loads(editor.input_value()) == {"orders": 3, "revenue": 90})
    editor.fill(json.dumps({"orders": 4, "revenue": 120}))
    page.click("button[data-action=save]")
    latest = {"scope": "shop-stats", "key": "latest"}
    wait(lambda: console.api("state/get", latest)["value"] == {"orders": 4, "revenue": 120})

    page.click("li[data-group=order-attempts]")
    attempt = page.locator("table[data-table=state] tbody tr", has_text=order_id).first
    attempt.wait_for()
    assert attempt.locator("td").first.inner_text() == order_id
    attempt.click()
    page.once("dialog", lambda d: d.accept())
    page.click("button[data-action=delete]")
    wait(lambda: console.api("state/get", {"scope": "order-attempts", "key": order_id})["value"] is None)


def test_dead_letters_name_their_function(page: Any, console: Console) -> None:
    console.api("publish", {"topic": "console.fails", "data": {"n": 2}})
    wait(lambda: any(d["topic"] == "console.fails" and d["message_count"] >= 1 for d in console.api("queues")["dlq"]))
    open_view(page, console, "queues")
    page.click("button[data-dlq='console.fails']")
    row = page.locator("table[data-table=dlq] tbody tr", has_text="AlwaysFails refuses").first
    row.wait_for()
    function = row.locator("code[data-function]")
    assert function.get_attribute("data-function", timeout=2000).startswith("steps::AlwaysFails")
    assert function.inner_text().startswith("steps::AlwaysFails")
    assert _one_line(page, "table[data-table=dlq] tbody tr")


def test_cron_rows_show_next_and_last_run(page: Any, console: Console) -> None:
    wait(lambda: any((t.get("cron") or {}).get("last_run") for t in console.api("triggers")["registered_triggers"]),
         timeout=20)
    open_view(page, console, "triggers")
    row = page.locator("table[data-table=triggers] tbody tr", has_text="ConsoleHeartbeat").first
    row.wait_for()
    next_run = row.locator("[data-next-run]")
    next_run.wait_for()
    assert re.fullmatch(r"in \d+s", next_run.inner_text()), next_run.inner_text()
    last = row.locator("[data-last-run]")
    wait(lambda: re.search(r"\d+s ago", last.inner_text()) is not None)
    assert "ok" in last.inner_text()
    hourly = page.locator("table[data-table=triggers] tbody tr", has_text="ConsoleTick").first
    assert re.fullmatch(r"in \d+m \d+s", hourly.locator("[data-next-run]").inner_text())
    page.wait_for_timeout(200)
    page.screenshot(path=str(SCREENSHOTS / "triggers.png"))


def test_ids_and_durations_stay_on_one_line(page: Any, console: Console) -> None:
    place_order(console)
    for view, table in (("traces", "traces"), ("functions", "functions"), ("triggers", "triggers"),
                        ("overview", "overview-functions"), ("logs", "logs")):
        open_view(page, console, view)
        page.locator(f"table[data-table={table}] tbody tr td:not(.empty)").first.wait_for()
        page.wait_for_timeout(200)
        assert _one_line(page, f"table[data-table={table}] tbody tr"), view
        # nothing in a number or id cell is cut without its tooltip, nor overflows its cell
        cut = page.eval_on_selector_all(
            f"table[data-table={table}] .clip",
            "els => els.filter((e) => e.scrollWidth > e.clientWidth && !e.title).length")
        assert cut == 0, view


def test_flow_edge_labels_are_not_hidden_by_nodes(page: Any, console: Console) -> None:
    open_view(page, console, "flows")
    page.wait_for_selector("svg.flow text.edge-label", state="attached")
    clipped = page.evaluate("""() => {
      const svg = document.querySelector('svg.flow')
      const box = svg.getBoundingClientRect()
      const nodes = [...svg.querySelectorAll('g.node rect.box')].map((r) => r.getBoundingClientRect())
      return [...svg.querySelectorAll('text.edge-label')].filter((t) => {
        const r = t.getBoundingClientRect()
        const outside = r.left < box.left - 1 || r.right > box.right + 1
          || r.top < box.top - 1 || r.bottom > box.bottom + 1
        const under = nodes.some((n) => r.left < n.right && r.right > n.left && r.top < n.bottom && r.bottom > n.top)
        return outside || under
      }).map((t) => t.textContent)
    }""")
    assert clipped == [], clipped
    # labels are drawn after (above) the nodes
    assert page.evaluate("() => { const s = document.querySelector('svg.flow'); "
                         "return [...s.children].indexOf(s.querySelector('text.edge-label')) > "
                         "[...s.children].indexOf([...s.querySelectorAll('g.node')].pop()) }")


def _one_line(page: Any, selector: str) -> bool:
    """Every matching element is one text line high (a wrapped id or "3.4 ms" doubles it)."""
    heights = page.eval_on_selector_all(selector, "els => els.map((e) => e.getBoundingClientRect().height)")
    return bool(heights) and max(heights) < 40

