"""The console and namespaces (iii 0.23+), in Chromium against a real engine process with the
console worker and official ``iii-sdk`` 0.25.0 workers in two namespaces (plus one in default
and one whose namespace is HTML): each registers the same function id, so only the namespace tells
the copies apart.

What a user sees: a namespace column (``default`` plainly, others as a badge) in functions,
workers and triggers; a namespace filter kept in the URL (a reload keeps it, a bad value is
ignored); invoking from the console runs the copy of the namespace the row is in; the observers
view and the local-invocations column follow what the engine offers; a namespace name is text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.console.conftest import SCREENSHOTS, wait
from tests.interop.conftest import HERE as INTEROP
from tests.interop.conftest import PY_DRIVER, NodeDriver
from tests.support.engine import EngineProcess, free_port
from tests.support.official_sdks import official_sdk_python
from tests.support.waiting import eventually_sync

SDK = "0.25.0"
FID = "demo::echo"
WORKER = "ns-demo"  # one name in every namespace: the engine keys workers by (namespace, name)
#: A namespace is any non-blank string (spec §1.1): this one must stay text in the page.
HOSTILE = '<img src=x onerror="window.__pwned=1">'
NAMESPACES = {"a": "team-a", "b": "team-b", "d": None, "x": HOSTILE}  # driver handle -> namespace


class NsConsole:
    def __init__(self, engine: EngineProcess, port: int, driver: NodeDriver) -> None:
        self.engine, self.driver = engine, driver
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.url}/api/{path}", params=params, timeout=10)


@pytest.fixture(scope="module")
def ns_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NsConsole]:
    python = official_sdk_python(SDK)  # installed once into tests/.cache/sdks (or a loud skip)
    workdir = tmp_path_factory.mktemp("console-ns")
    port = free_port()
    engine = EngineProcess(workdir, workers=[
        {"name": "iii-console", "config": {"port": port, "host": "127.0.0.1"}},
        {"name": "iii-cron", "config": {}},
    ]).start()
    driver = NodeDriver(workdir / "driver.log", [str(python), str(PY_DRIVER)], cwd=INTEROP)
    try:
        assert driver.version == SDK, driver.stderr()
        for handle, namespace in NAMESPACES.items():
            options = {} if namespace is None else {"namespace": namespace}
            driver.send("connect", w=handle, url=engine.url, name=WORKER, **options).result(30)
            driver.send("register_function", w=handle, id=FID, kind="echo",
                        description=f"the copy in {namespace or 'default'}").result(30)
        # a cron binding made by the team-b worker: its target is team-b's copy (hourly in a year)
        driver.send("register_trigger", w="b", type="cron", function_id=FID,
                    config={"expression": "0 0 0 1 1 * *"}).result(30)
        console = NsConsole(engine, port, driver)

        def registered() -> bool:
            rows = console.api("functions").json()["functions"]
            bound = console.api("triggers").json()["registered_triggers"]
            return (sorted(r["namespace"] for r in rows if r["function_id"] == FID) == sorted(
                ["default", "team-a", "team-b", HOSTILE]) and any(t["function_id"] == FID for t in bound))

        wait(registered, timeout=30)
        yield console
    finally:
        driver.close()
        engine.stop()


@pytest.fixture
def ns_page(browser: Any, ns_console: NsConsole) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script("localStorage.setItem('iii-console-theme', 'dark')")
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_default_timeout(10_000)
    try:
        yield page
        # a namespace named like HTML never became an element, and nothing it carried ran
        assert page.evaluate("window.__pwned === undefined") and dialogs == []
        assert page.eval_on_selector_all("main img", "els => els.length") == 0
    finally:
        context.close()
    assert not errors, f"JavaScript errors in the console: {errors}"


def rows_of(page: Any, table: str, text: str) -> Any:
    return page.locator(f"table[data-table={table}] tbody tr", has_text=text)


def namespaces_shown(page: Any, table: str, text: str) -> list[str]:
    return sorted(page.eval_on_selector_all(
        f"table[data-table={table}] tbody tr",
        "(trs, text) => trs.filter((tr) => tr.textContent.includes(text))"
        ".map((tr) => tr.querySelector('[data-namespace]').textContent)", text))


def open_hash(page: Any, ns_console: NsConsole, route: str, view: str) -> None:
    page.goto(f"{ns_console.url}/#/{route}")
    page.wait_for_selector(f"section.view[data-view={view}]")


def test_functions_show_their_namespace_and_the_filter_lives_in_the_url(ns_page: Any, ns_console: NsConsole) -> None:
    page = ns_page
    open_hash(page, ns_console, "functions", "functions")
    wait(lambda: len(namespaces_shown(page, "functions", FID)) == 4)
    assert namespaces_shown(page, "functions", FID) == sorted(["default", "team-a", "team-b", HOSTILE])
    # default plainly, the others as a badge
    cell = "table[data-table=functions] [data-namespace='{}']"
    assert "badge" not in (page.locator(cell.format("default")).first.get_attribute("class") or "")
    assert "badge" in (page.locator(cell.format("team-a")).first.get_attribute("class") or "")
    assert page.locator("th", has_text="Namespace").count() == 1
    # the HTML namespace is an option and a cell, as text
    options = page.eval_on_selector_all("select[data-name=namespace] option", "os => os.map((o) => o.textContent)")
    assert options[0] == "all namespaces" and HOSTILE in options and "team-b" in options

    page.select_option("select[data-name=namespace]", "team-b")
    wait(lambda: namespaces_shown(page, "functions", FID) == ["team-b"])
    assert "ns=team-b" in page.evaluate("location.hash")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "functions-namespaces.png"))

    page.reload()  # remembered in the URL
    page.wait_for_selector("section.view[data-view=functions]")
    wait(lambda: namespaces_shown(page, "functions", FID) == ["team-b"])
    assert page.eval_on_selector("select[data-name=namespace]", "s => s.value") == "team-b"

    page.select_option("select[data-name=namespace]", "")  # all again: the parameter goes away
    wait(lambda: len(namespaces_shown(page, "functions", FID)) == 4)
    assert "ns=" not in page.evaluate("location.hash")


def test_workers_and_triggers_show_and_filter_namespaces(ns_page: Any, ns_console: NsConsole) -> None:
    page = ns_page
    open_hash(page, ns_console, "workers?ns=team-a", "workers")
    wait(lambda: namespaces_shown(page, "workers", WORKER) == ["team-a"])
    assert page.eval_on_selector("select[data-name=namespace]", "s => s.value") == "team-a"
    page.select_option("select[data-name=namespace]", "")
    wait(lambda: namespaces_shown(page, "workers", WORKER) == sorted(["default", "team-a", "team-b", HOSTILE]))
    # Enter on a worker opens its functions in its namespace
    rows_of(page, "workers", WORKER).filter(has=page.locator("[data-namespace='team-b']")).click()
    page.keyboard.press("Enter")
    page.wait_for_selector("section.view[data-view=functions]")
    wait(lambda: namespaces_shown(page, "functions", FID) == ["team-b"])

    open_hash(page, ns_console, "triggers?ns=team-b", "triggers")
    wait(lambda: namespaces_shown(page, "triggers", FID) == ["team-b"])
    page.select_option("select[data-name=namespace]", "team-a")
    wait(lambda: "ns=team-a" in page.evaluate("location.hash"))
    wait(lambda: page.locator("table[data-table=triggers] td.empty").count() == 1)
    assert rows_of(page, "triggers", FID).count() == 0


def test_invoke_from_the_console_runs_the_copy_in_the_row_namespace(ns_page: Any, ns_console: NsConsole) -> None:
    page = ns_page
    open_hash(page, ns_console, "functions", "functions")
    for namespace, handle in (("team-b", "b"), ("team-a", "a"), ("default", "d")):
        rows_of(page, "functions", FID).filter(has=page.locator(f"[data-namespace='{namespace}']")).click()
        page.wait_for_selector(f".detail-pane h3[data-namespace='{namespace}']")
        page.locator("textarea[data-name=payload]").fill(json.dumps({"asked": namespace}))
        page.click("button[data-action=invoke]")
        result = page.locator(f"pre[data-result='{FID}'][data-namespace='{namespace}']")
        result.wait_for()
        answer = json.loads(result.inner_text())
        # which copy answered: the driver handle of the worker in that namespace, and its own namespace
        assert answer["worker"] == handle and answer["data"] == {"asked": namespace}
        assert answer["namespace"] == (None if namespace == "default" else namespace)
        assert f"in={namespace}" in page.evaluate("location.hash")

    # a deep link names the function and its namespace
    open_hash(page, ns_console, f"functions?id={FID}&in=team-a", "functions")
    page.wait_for_selector(".detail-pane h3[data-namespace='team-a']")


def test_bad_namespaces_are_ignored_by_the_page_and_refused_by_the_api(ns_page: Any, ns_console: NsConsole) -> None:
    page = ns_page
    open_hash(page, ns_console, "functions?ns=" + "x" * 300, "functions")
    wait(lambda: len(namespaces_shown(page, "functions", FID)) == 4)  # too long: every namespace
    assert page.eval_on_selector("select[data-name=namespace]", "s => s.value") == ""
    for bad in ("x" * 300, "   ", "a\u0000b"):
        refused = ns_console.api("functions", namespace=bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_NAMESPACE"
    invoked = httpx.post(f"{ns_console.url}/api/invoke", json={"function_id": FID, "namespace": " "}, timeout=10)
    assert invoked.status_code == 400
    # the HTML-named namespace filters like any other, as text
    ok = ns_console.api("functions", namespace=HOSTILE).json()["functions"]
    assert [(f["function_id"], f["namespace"]) for f in ok] == [(FID, HOSTILE)]


def test_observers_and_local_invocations_follow_what_the_engine_offers(ns_page: Any, ns_console: NsConsole) -> None:
    page = ns_page
    has_observers = any(f["function_id"] == "engine::observers::list"
                        for f in ns_console.api("functions", internal="1").json()["functions"])
    open_hash(page, ns_console, "observers", "observers")
    status = page.locator("[data-observers-status]")
    wait(lambda: status.get_attribute("data-observers-status") in ("available", "unavailable"))
    assert status.get_attribute("data-observers-status") == ("available" if has_observers else "unavailable")
    if not has_observers:
        assert "no engine::observers::list" in status.inner_text()
        assert page.locator("table[data-table=observers] td.empty").inner_text() == "No observers."

    # the "Local" column is there exactly when the engine's rows carry local_invocations
    workers = ns_console.api("workers").json()["workers"]
    carried = any("local_invocations" in w for w in workers)
    open_hash(page, ns_console, "workers", "workers")
    wait(lambda: len(namespaces_shown(page, "workers", WORKER)) == 4)
    assert (page.locator("table[data-table=workers] th", has_text="Local").count() == 1) is carried



def test_a_real_observer_is_listed_in_its_namespace(ns_page: Any, ns_console: NsConsole) -> None:
    """An observer made by the official 0.25 SDK (team-a's copy observed into itself) shows in
    the observers view as the engine lists it: its namespace, source, target and state."""
    driver = ns_console.driver
    driver.send("observe", w="a", handle="console-obs", source={"function_id": FID, "namespace": "team-a",
                                                                  "filters": {"input.never": {"$exists": True}}},
                target={"function_id": FID, "namespace": "team-a"}, options={"id": "console-obs-1"}).result(30)
    settled = driver.send("observer_ready", handle="console-obs", wait=10).result(30)
    assert settled["state"] == "active", settled

    def listed() -> dict[str, Any] | None:
        rows = ns_console.api("observers", ns="team-a").json()["observers"]
        return next((r for r in rows if r["id"] == "console-obs-1"), None)

    row = eventually_sync(listed, 15, what="the observer in the console's list")
    assert row["source"]["function_id"] == FID and row["namespace"] == "team-a" and row["state"] == "active"
    page = ns_page
    open_hash(page, ns_console, "observers?ns=team-a", "observers")
    shown = page.locator("table[data-table=observers] tbody tr", has_text="active")
    wait(lambda: shown.count() == 1)
    assert FID in shown.first.inner_text() and WORKER in shown.first.inner_text()


def test_pyiii_console_against_a_remote_engine_invokes_in_the_namespace(ns_console: NsConsole) -> None:
    """``pyiii console --engine`` calls over the worker WebSocket (pyiii.sdk): the namespace
    travels on its ``invokefunction`` frame."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pyiii", "console", "--engine", ns_console.engine.url,
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait(lambda: httpx.get(url + "/api/functions", timeout=1).status_code == 200)
        for namespace, handle in (("team-a", "a"), ("team-b", "b")):
            answer = httpx.post(f"{url}/api/invoke", json={"function_id": FID, "namespace": namespace,
                                                           "input": {"n": 1}}, timeout=10).json()
            assert answer["ok"] and answer["result"]["worker"] == handle
            assert answer["result"]["namespace"] == namespace
        detail = httpx.post(f"{url}/api/function", json={"function_id": FID, "namespace": "team-b"}, timeout=10)
        assert detail.json()["description"] == "the copy in team-b"
    finally:
        proc.terminate()
        proc.wait(10)


def test_local_counts_and_observer_rows_render_when_the_engine_sends_them(ns_page: Any,
                                                                          ns_console: NsConsole) -> None:
    """The shapes other parts of the engine add (``local_invocations`` on worker and function
    rows, ``engine::observers::list`` rows), put into the real API's answers in the browser."""
    page = ns_page

    def with_local(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        for i, row in enumerate(body.get("workers") or body.get("functions") or []):
            if row.get("namespace") == "team-a":
                row["local_invocations"] = 7 if i % 2 else {"count": 7, "errors": 0}
        route.fulfill(response=response, json=body)

    page.route("**/api/workers*", with_local)
    page.route("**/api/functions*", with_local)
    open_hash(page, ns_console, "workers", "workers")
    header = page.locator("table[data-table=workers] th", has_text="Local")
    header.wait_for()
    team_a = rows_of(page, "workers", WORKER).filter(has=page.locator("[data-namespace='team-a']"))
    assert team_a.locator("[data-local]").inner_text() == "7"
    team_b = rows_of(page, "workers", WORKER).filter(has=page.locator("[data-namespace='team-b']"))
    assert team_b.locator("[data-local]").count() == 0  # absent: nothing, not 0
    open_hash(page, ns_console, "functions?ns=team-a", "functions")
    wait(lambda: rows_of(page, "functions", FID).locator("[data-local]").count() == 1)

    observer = {"id": "obs-1", "namespace": "team-a", "source": {"function_id": FID, "namespace": "team-a"},
                "target": FID, "target_namespace": "team-b", "state": "active", "fires": 3,
                "worker_name": HOSTILE}
    page.route("**/api/observers*", lambda route: route.fulfill(json={
        "available": True, "observers": [observer], "namespaces": ["default", "team-a"]}))
    open_hash(page, ns_console, "observers", "observers")
    row = page.locator("table[data-table=observers] tbody tr", has_text="obs-1")
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[1:] == ["team-a", f"{FID} team-a", f"{FID} team-b", "active", "3", HOSTILE]
    assert page.locator("[data-observers-status]").get_attribute("data-observers-status") == "available"
