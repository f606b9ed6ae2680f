"""Helpers for the iii-http tests: an engine with iii-http, official SDK workers, raw requests."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")


class HttpEngine:
    def __init__(self, workdir: Path, http_config: dict[str, Any] | None = None,
                 extra_workers: list[dict[str, Any]] | None = None) -> None:
        self.http_port = free_port()
        config = {"port": self.http_port, "host": "127.0.0.1", **(http_config or {})}
        self.proc = EngineProcess(workdir, workers=[{"name": "iii-http", "config": config}, *(extra_workers or [])])
        self.base = f"http://127.0.0.1:{self.http_port}"

    def start(self) -> HttpEngine:
        self.proc.start()
        wait_port(self.http_port)
        return self

    def stop(self) -> None:
        self.proc.stop()


@contextmanager
def sdk_worker(engine_url: str, name: str = "http-test") -> Iterator[Any]:
    from iii import InitOptions, register_worker

    worker = register_worker(engine_url, InitOptions(worker_name=name, enable_metrics_reporting=False,
                                                     otel={"enabled": False}))
    try:
        yield worker
    finally:
        worker.shutdown()


def wait_route(base: str, method: str, path: str, *, gone: bool = False, timeout: float = 10.0,
               **kwargs: Any) -> httpx.Response:
    """Poll until the route answers something other than 404 (or, with ``gone``, until 404)."""

    def answered() -> httpx.Response | None:
        response = httpx.request(method, base + path, timeout=5, **kwargs)
        return response if (response.status_code == 404) == gone else None

    return eventually_sync(answered, timeout, 0.05, what=f"{method} {path} {'gone' if gone else 'served'}")


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (no client-side path normalisation) and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest[:length]


def get(port: int, target: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    status, _, body = raw_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    return status, body
