"""iii-http-functions: functions whose invocation is an HTTP call, against a local test server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from iii.errors import InvocationError
from iii_helpers.http import HttpAuthBearer, HttpAuthHmac, HttpInvocationConfig

from tests.integration.http.support import sdk_worker
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually_sync

SECRET = "s3cret-for-tests"


class Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        Recorder.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path == "/signed":
            expected = hmac.new(SECRET.encode(), f"{self.headers['x-iii-Timestamp']}:".encode()
                                + base64.b64encode(body), hashlib.sha256).hexdigest()
            if self.headers.get("x-iii-Signature") != f"sha256={expected}":
                self._answer(401, b'{"error":{"code":"bad_signature","message":"signature mismatch"}}')
                return
            self._answer(200, json.dumps({"ok": True, "got": json.loads(body)}).encode())
        elif self.path == "/bearer":
            self._answer(200, json.dumps(self.headers.get("authorization")).encode())
        elif self.path == "/boom":
            self._answer(500, b"it broke", "text/plain")
        elif self.path == "/not-json":
            self._answer(200, b"<html>", "text/html")
        elif self.path == "/empty":
            self._answer(200, b"")
        elif self.path == "/slow":
            time.sleep(2)
            self._answer(200, b"{}")


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()


def _engine(workdir: Path, security: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> EngineProcess:
    monkeypatch.setenv("HF_SECRET", SECRET)
    monkeypatch.setenv("HF_WRONG_SECRET", "not-the-secret")
    monkeypatch.setenv("HF_TOKEN", "tok-123")
    return EngineProcess(workdir, workers=[{"name": "http-functions", "config": {"security": security}}]).start()


def _barrier(worker: Any) -> None:
    """Registrations are processed in order: once this answers, everything before it was."""
    worker.register_function(f"barrier::{time.monotonic_ns()}", lambda data: "ok")
    fid = list(worker._functions)[-1]
    eventually_sync(lambda: worker.trigger({"function_id": fid, "payload": {}}) == "ok", 10, 0.05,
                    what=f"{fid} to answer", retry_on=(AssertionError, InvocationError))


def _error(worker: Any, function_id: str, payload: Any = None) -> InvocationError:
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": function_id, "payload": payload or {}})
    return info.value


def test_calls_signatures_auth_and_result_mapping(tmp_path: Path, server: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    eng = _engine(tmp_path, {"require_https": False, "block_private_ips": False,
                             "url_allowlist": ["127.0.0.1"]}, monkeypatch)
    base = f"http://127.0.0.1:{server}"
    try:
        with sdk_worker(eng.url) as w:
            w.register_function("ext::signed", HttpInvocationConfig(url=f"{base}/signed",
                                                                    auth=HttpAuthHmac(secret_key="HF_SECRET")))
            w.register_function("ext::badsig", HttpInvocationConfig(
                url=f"{base}/signed", auth=HttpAuthHmac(secret_key="HF_WRONG_SECRET")))
            w.register_function("ext::bearer", HttpInvocationConfig(url=f"{base}/bearer",
                                                                    auth=HttpAuthBearer(token_key="HF_TOKEN"),
                                                                    headers={"x-custom": "1"}))
            w.register_function("ext::boom", HttpInvocationConfig(url=f"{base}/boom"))
            w.register_function("ext::notjson", HttpInvocationConfig(url=f"{base}/not-json"))
            w.register_function("ext::empty", HttpInvocationConfig(url=f"{base}/empty"))
            w.register_function("ext::slow", HttpInvocationConfig(url=f"{base}/slow", timeout_ms=300))
            w.register_function("ext::not_allowed", HttpInvocationConfig(url=f"http://localhost:{server}/empty"))
            w.register_function("ext::no_secret", HttpInvocationConfig(
                url=f"{base}/signed", auth=HttpAuthHmac(secret_key="HF_UNSET_VARIABLE")))
            _barrier(w)

            result = w.trigger({"function_id": "ext::signed", "payload": {"n": 1}})
            assert result["ok"] is True and result["got"]["n"] == 1
            seen = Recorder.seen[-1]
            assert seen["headers"]["x-iii-Function-Path"] == "ext::signed"
            assert seen["headers"]["Content-Type"] == "application/json"
            assert len(seen["headers"]["x-iii-Invocation-ID"]) == 36

            error = _error(w, "ext::badsig")
            assert (error.code, error.message) == ("bad_signature", "signature mismatch")
            assert w.trigger({"function_id": "ext::bearer", "payload": {}}) == "Bearer tok-123"
            assert Recorder.seen[-1]["headers"]["x-custom"] == "1"
            error = _error(w, "ext::boom")
            assert (error.code, error.message) == ("http_error", "HTTP 500 Internal Server Error")
            assert _error(w, "ext::notjson").code == "invalid_response"
            assert w.trigger({"function_id": "ext::empty", "payload": {}}) is None
            assert _error(w, "ext::slow").code == "http_request_failed"
            assert _error(w, "ext::not_allowed").code == "function_not_found"
            assert _error(w, "ext::no_secret").code == "function_not_found"
        logs = eng.logs()
        assert "not in security.url_allowlist" in logs and "secret_not_found" in logs
    finally:
        eng.stop()


def test_private_addresses_are_refused(tmp_path: Path, server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    eng = _engine(tmp_path, {"require_https": False}, monkeypatch)
    calls_before = len(Recorder.seen)
    try:
        with sdk_worker(eng.url) as w:
            for i, url in enumerate([f"http://127.0.0.1:{server}/empty", f"http://localhost:{server}/empty",
                                     "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data",
                                     f"http://[::ffff:127.0.0.1]:{server}/empty", "http://[::1]/x"]):
                w.register_function(f"ext::private{i}", HttpInvocationConfig(url=url))
            _barrier(w)
            for i in range(6):
                assert _error(w, f"ext::private{i}").code == "function_not_found"
        assert eng.logs().count("security.block_private_ips forbids it") == 6
        assert len(Recorder.seen) == calls_before  # nothing reached the private server
    finally:
        eng.stop()
