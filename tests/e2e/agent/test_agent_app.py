"""examples/agent end to end with the fake model, seen by Chromium: a question → tool calls
(discovered at run time; one is the Node worker) → a streamed answer on the page → a draft
awaiting approval → approval from the page → completion, in one trace; and the wait survives a
kill -9 of the engine (restart, then approve)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.chromium import chromium
from tests.support.engine import free_port, wait_port
from tests.support.project import DevProcess, link_cached_node_modules
from tests.support.waiting import eventually_sync

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "agent"
QUESTION = "What is the weather in Paris? Then email Ada about it."
TOOLS = {"tools::weather::forecast", "tools::contacts::lookup", "tools::email::draft", "agent::auth"}

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="the weather tool is a Node worker")


class App:
    """The example under ``pyiii dev``, restartable on the same ports and data folder."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.dev = DevProcess(project, "dev")
        self.browser_port, self.model_port = free_port(), free_port()
        self.env = {"BROWSER_PORT": str(self.browser_port), "MODEL_PORT": str(self.model_port),
                    "PYTHON": sys.executable, "OPENAI_BASE_URL": f"http://127.0.0.1:{self.model_port}/v1",
                    "OPENAI_API_KEY": "test-key", "FAKE_MODEL_API_KEY": "test-key", "FAKE_MODEL_DELAY_MS": "10",
                    "OTEL_ENABLED": "true"}  # the workers' own spans join the trace (other tests turn it off)

    @property
    def base(self) -> str:
        return self.dev.base

    def start(self) -> App:
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)  # DevProcess passes os.environ on to `pyiii dev`
        try:
            self.dev.start("/agent", timeout=90)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.wait_for_workers()
        return self

    def restart_after_kill(self) -> None:
        old = self.dev
        assert old.proc is not None
        old.proc.send_signal(signal.SIGKILL)
        old.proc.wait(10)
        fresh = DevProcess(self.project, "dev")
        fresh.engine_port, fresh.http_port, fresh.stream_port = old.engine_port, old.http_port, old.stream_port
        # iii-exec's guards stop the app's processes when the engine dies; wait for the ports.
        eventually_sync(lambda: not _port_open(self.model_port), 15, 0.1, what="the app's model port to close")
        self.dev = fresh
        self.start()

    def engine_call(self, function_id: str, payload: Any) -> Any:
        from iii import InitOptions, register_worker

        worker = register_worker(f"ws://127.0.0.1:{self.dev.engine_port}",
                                 InitOptions(worker_name="probe", enable_metrics_reporting=False))
        try:
            return worker.trigger({"function_id": function_id, "payload": payload, "timeout_ms": 5000})
        finally:
            worker.shutdown()

    def wait_for_workers(self, timeout: float = 60) -> None:
        # The Node and Python workers connect on their own schedule; the model must see every tool.
        def registered() -> bool:
            listing = self.engine_call("engine::functions::list", {})
            return TOOLS <= {f["function_id"] for f in listing["functions"]}

        try:
            eventually_sync(registered, timeout, 0.2, what="every tool worker to register")
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.dev.logs()[-3000:]}") from None
        wait_port(self.model_port, 10)

    def conversation(self, conv: str) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base}/agent/conversations/{conv}").json())

    def stop(self) -> None:
        self.dev.stop()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    project = tmp_path_factory.mktemp("agent") / "agent"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "data", "__pycache__"))
    link_cached_node_modules(project)  # offline machines: reuse the installed SDK + tsx, no `npm install`
    app = App(project).start()
    try:
        yield app
    finally:
        app.stop()


# A MutationObserver keeps every text the streamed answer showed, to prove it arrived in pieces.
RECORD_TEXTS = """() => {
  window.answerTexts = []
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('.msg.assistant')) window.answerTexts.push(el.textContent)
  }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true})
}"""


def _open_page(browser: Any, app: App, conv: str) -> Any:
    page = browser.new_page()
    page.goto(f"{app.base}/agent?c={conv}")
    page.wait_for_function("document.getElementById('worker-state').textContent === 'connected'", timeout=15000)
    page.wait_for_function("document.getElementById('stream-state').textContent === 'open'", timeout=15000)
    return page


def test_question_tools_streamed_answer_approval_completion_in_one_trace(app: App) -> None:
    conv = "conv-live"
    with chromium() as browser:
        page = _open_page(browser, app, conv)
        page.evaluate(RECORD_TEXTS)
        page.fill("#question", QUESTION)
        page.click("#send")
        page.wait_for_selector(".draft[data-status=awaiting_approval] button.approve", timeout=20000)
        page.wait_for_function("document.getElementById('status').textContent === 'awaiting_approval'")
        tools = page.eval_on_selector_all(".msg.tool", "els => els.map(e => [e.textContent, e.dataset.status])")
        assert [t[1] for t in tools] == ["done", "done", "done"]
        assert [t[0].split("(")[0] for t in tools] == [
            "→ tools::weather::forecast", "→ tools::contacts::lookup", "→ tools::email::draft"]
        assert '"source":"node"' in tools[0][0]  # answered by the Node worker
        answer = page.text_content(".msg.assistant[data-done=true]") or ""
        assert "in Paris at" in answer and "waiting for your approval" in answer
        partial = {t for t in page.evaluate("window.answerTexts") if t and t != answer and answer.startswith(t)}
        assert partial, "the answer never showed partially: not streamed"
        approved_at_ns = time.time_ns()
        page.click(".draft button.approve")
        page.wait_for_selector(".draft[data-status=sent]", timeout=15000)
        page.wait_for_function("document.getElementById('status').textContent === 'completed'")
        assert "the email to ada@example.com was sent" in page.text_content("#messages")

    # The model was offered the discovered tools with the schemas their workers registered.
    first = httpx.get(f"http://127.0.0.1:{app.model_port}/debug/requests").json()[0]
    offered = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert set(offered) == {"tools__weather__forecast", "tools__contacts__lookup", "tools__email__draft"}
    assert offered["tools__weather__forecast"]["required"] == ["city"]

    state = app.conversation(conv)
    assert state["status"] == "completed"
    assert [m["role"] for m in state["messages"]] == ["user", "assistant", "tool", "tool", "assistant", "tool",
                                                      "assistant", "assistant"]
    outbox = app.engine_call("state::list", {"scope": "agent-outbox"})
    assert [(o["to"], o["status"]) for o in outbox] == [("ada@example.com", "sent")]
    # One trace from the question to the completion after the approval.
    trace_id = state["trace_id"]
    assert trace_id and outbox[0]["trace_id"] == trace_id
    assert outbox[0]["traceparent"].split("-")[1] == trace_id
    query = {"trace_id": trace_id, "search_all_spans": True, "include_internal": True, "limit": 1000}

    def node_span() -> list[dict[str, Any]] | None:  # workers export their spans in batches
        spans: list[dict[str, Any]] = app.engine_call("engine::traces::list", query)["spans"]
        return spans if "execute tools::weather::forecast" in {s["name"] for s in spans} else None

    spans = eventually_sync(node_span, 15, 0.25, what="the Node worker's own span")
    names = {s["name"] for s in spans}
    assert {"call engine::functions::list", "call iii::durable::publish"} <= names
    assert any(s["start_time_unix_nano"] > approved_at_ns for s in spans), "the trace stops before the approval"


def test_waiting_draft_survives_engine_kill_9_then_approval_completes(app: App) -> None:
    conv = "conv-crash"
    r = httpx.post(f"{app.base}/agent/ask", json={"conversation_id": conv, "text": QUESTION})
    assert r.status_code == 202, r.text

    def awaiting() -> bool:
        conversation = app.conversation(conv)
        assert conversation["status"] == "awaiting_approval", conversation
        return True

    eventually_sync(awaiting, 20, 0.1, what="the draft to await approval")

    app.restart_after_kill()

    assert app.conversation(conv)["status"] == "awaiting_approval"  # memory and draft came back from SQLite
    with chromium() as browser:
        page = _open_page(browser, app, conv)
        page.wait_for_selector(".draft[data-status=awaiting_approval] button.approve", timeout=15000)
        assert QUESTION in (page.text_content(".msg.user") or "")
        page.click(".draft button.approve")
        page.wait_for_selector(".draft[data-status=sent]", timeout=15000)
        page.wait_for_function("document.getElementById('status').textContent === 'completed'")
    state = app.conversation(conv)
    assert state["status"] == "completed"
    assert state["messages"][-1] == {"role": "assistant", "content": "Approved: the email to ada@example.com was sent."}
    # Deciding again is a no-op, not a second email.
    draft_id = json.loads(state["messages"][5]["content"])["draft_id"]
    again = httpx.post(f"{app.base}/agent/decide",
                       json={"conversation_id": conv, "draft_id": draft_id, "approved": True})
    assert again.json()["already_decided"] is True
    sent = [o for o in app.engine_call("state::list", {"scope": "agent-outbox"}) if o["id"] == draft_id]
    assert len(sent) == 1
