"""Web pages may not drive the console (issue 16 item 11): a cross-site ``text/plain`` POST, a
foreign ``Origin`` and a rebound ``Host`` are each refused and ``state::set`` does not happen;
a console bound beyond loopback requires a token (Bearer header, or a cookie set by opening the
URL with ``?token=`` once). The UI itself keeps working (tests/e2e/console)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.engine import free_port
from tests.support.project import DevProcess

CONFIG = """workers:
  - name: iii-worker-manager
    config: {port: ${III_PORT}, host: 127.0.0.1}
  - name: iii-http
    config: {port: ${HTTP_PORT}, host: 127.0.0.1}
  - name: iii-state
  - name: iii-stream
    config: {port: ${STREAMS_PORT}, host: 127.0.0.1}
"""
PING_STEP = '''from typing import Any

from pyiii.steps import http

config = {"name": "Ping", "triggers": [http("GET", "/ping")], "flows": ["t"]}


def handler(_request: Any) -> dict[str, Any]:
    return {"status": 200, "body": "pong"}
'''
TOKEN = "s3cret-console-token"


def _project(root: Path) -> Path:
    project = root / "proj"
    (project / "steps").mkdir(parents=True)
    (project / "config.yaml").write_text(CONFIG)
    (project / "steps" / "ping_step.py").write_text(PING_STEP)
    return project


def _set(key: str) -> dict[str, Any]:
    return {"function_id": "state::set", "input": {"scope": "csrf", "key": key, "value": {"pwned": True}}}


class Console:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def state(self, key: str, headers: dict[str, str] | None = None) -> Any:
        resp = httpx.post(f"{self.url}/api/state/get", json={"scope": "csrf", "key": key}, headers=headers)
        return resp.json()["value"]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("III_CONSOLE_PORT", str(port))
        mp.delenv("III_CONSOLE_TOKEN", raising=False)
        dev = DevProcess(_project(tmp_path_factory.mktemp("csrf")), "dev").start("/ping")
    try:
        yield Console(port)
    finally:
        dev.stop()


def test_text_plain_post_is_refused(console: Console) -> None:
    # What a cross-site <form> or fetch(no-cors) can send without a CORS preflight.
    resp = httpx.post(f"{console.url}/api/invoke", content=json.dumps(_set("plain")),
                      headers={"content-type": "text/plain", "origin": console.url})
    assert resp.status_code == 415
    assert console.state("plain") is None


def test_foreign_origin_is_refused(console: Console) -> None:
    resp = httpx.post(f"{console.url}/api/invoke", json=_set("origin"), headers={"origin": "http://evil.example"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN_ORIGIN"
    assert console.state("origin") is None
    # The stream WebSocket is guarded too (cross-site WebSocket hijacking).
    resp = httpx.get(f"{console.url}/ws/streams", headers={
        "origin": "http://evil.example", "connection": "Upgrade", "upgrade": "websocket",
        "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert resp.status_code == 403


def test_rebound_host_is_refused(console: Console) -> None:
    # DNS rebinding: evil.example now resolves to 127.0.0.1; the browser sends its own name.
    host = f"evil.example:{console.port}"
    resp = httpx.post(f"{console.url}/api/invoke", json=_set("host"),
                      headers={"host": host, "origin": f"http://{host}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN_HOST"
    assert httpx.get(f"{console.url}/api/config", headers={"host": host}).status_code == 403  # no reads either
    assert console.state("host") is None


def test_same_origin_ui_calls_still_work(console: Console) -> None:
    resp = httpx.post(f"{console.url}/api/invoke", json=_set("ui"), headers={"origin": console.url})
    assert resp.status_code == 200 and resp.json()["ok"] is True
    assert console.state("ui") == {"pwned": True}
    page = httpx.get(console.url + "/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_token_required_beyond_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("III_CONSOLE_PORT", str(port))
    monkeypatch.setenv("III_CONSOLE_TOKEN", TOKEN)
    # The config names loopback for the engine's ports; only the console takes --host.
    dev = DevProcess(_project(tmp_path), "dev", ["--host", "0.0.0.0"]).start("/ping")
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(url + "/api/config").status_code == 401
        resp = httpx.post(url + "/api/invoke", json=_set("tok"), headers={"authorization": "Bearer wrong"})
        assert resp.status_code == 401
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(url + "/api/config", headers=bearer).status_code == 200
        # The browser path: open the URL with ?token= once, then the cookie carries it.
        with httpx.Client(base_url=url) as browser:
            first = browser.get(f"/?token={TOKEN}")
            assert first.status_code == 302 and "token" not in first.headers["location"]
            assert "samesite=strict" in first.headers["set-cookie"].lower()
            assert browser.get("/").status_code == 200
            resp = browser.post("/api/invoke", json=_set("tok"), headers={"origin": url})
            assert resp.status_code == 200 and resp.json()["ok"] is True
    finally:
        dev.stop()


def test_generated_token_when_none_is_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("III_CONSOLE_PORT", str(port))
    monkeypatch.delenv("III_CONSOLE_TOKEN", raising=False)
    dev = DevProcess(_project(tmp_path), "dev", ["--host", "0.0.0.0"]).start("/ping")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/config").status_code == 401
        assert f":{port}/?token=" in dev.logs()  # printed for the operator
    finally:
        dev.stop()
