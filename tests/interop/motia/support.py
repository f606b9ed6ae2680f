"""Run a Motia app folder under a real ``pyiii`` process and check what it serves.

``MotiaApp`` copies an app (``app_py/``, ``app_node/``, ``app_mixed/``) into a temporary folder
and starts ``python -m pyiii [dev|start]`` in it on free ports (the apps' ``iii-config.yaml`` read
``III_PORT``, ``HTTP_PORT``, ``STREAMS_PORT``); :func:`check_orders` drives the app's routes and
waits, with ``eventually``, for the queue chain, the stream, the state and the cron."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.integration.stream.wsclient import StreamClient
from tests.support.engine import REPO, free_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

HERE = Path(__file__).resolve().parent


class MotiaApp:
    def __init__(self, app: str, workdir: Path, *, command: str | None = None,
                 env: dict[str, str] | None = None, steps_from: tuple[str, ...] = (), copy: bool = True) -> None:
        """``copy`` False runs ``workdir/app`` as it is (a project an earlier run copied and edited)."""
        self.project = workdir / app
        ignore = shutil.ignore_patterns("node_modules", "dist", "data", "__pycache__")
        if copy:
            shutil.copytree(HERE / app, self.project, ignore=ignore)
        for other in steps_from:  # the mixed project: the Python and the Node apps' steps side by side
            shutil.copytree(HERE / other / "steps", self.project / "steps", ignore=ignore, dirs_exist_ok=True)
        self.command = command
        self.extra_env = env or {}
        self.engine_port, self.http_port, self.stream_port = free_port(), free_port(), free_port()
        self.log_path = workdir / f"{app}-{command or 'plain'}-{self.engine_port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.engine_port}"

    def start(self) -> MotiaApp:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OTEL_ENABLED": "false",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
               "III_PORT": str(self.engine_port), "HTTP_PORT": str(self.http_port),
               "STREAMS_PORT": str(self.stream_port), **self.extra_env}
        # `pyiii dev|start` add the console: on a free port, so parallel tests never meet there.
        env.setdefault("III_CONSOLE_PORT", str(free_port()))
        argv = [sys.executable, "-m", "pyiii", *([self.command, str(self.project)] if self.command else [])]
        self.proc = subprocess.Popen(argv, cwd=self.project, env=env, stdout=self.log_path.open("ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"pyiii exited:\n{self.logs()}"

    async def functions(self) -> list[str]:
        worker = await RawWorker.connect(self.url)
        try:
            res = await worker.call("engine::functions::list", {"include_internal": True})
            return sorted(f["function_id"] for f in res.get("result", {}).get("functions", []))
        finally:
            await worker.close()


async def served(app: MotiaApp, client: httpx.AsyncClient, path: str, timeout: float = 60.0) -> httpx.Response:
    """Wait until ``GET path`` is routed (anything but 404 / connection refused)."""

    async def probe() -> httpx.Response | None:
        app.alive()
        try:
            response = await client.get(path)
        except httpx.HTTPError:
            return None
        return response if response.status_code != 404 else None

    result: httpx.Response = await eventually(probe, timeout=timeout, interval=0.1,
                                              what=f"GET {path} is served\n{app.logs()[-4000:]}")
    return result


async def stream_update(client: StreamClient, item_id: str, timeout: float) -> dict[str, Any]:
    """The first event a stream subscriber receives about ``item_id`` with status ``processed``."""
    async with asyncio.timeout(timeout):
        while True:
            event = await client.next(timeout)
            if f'"{item_id}"' in json.dumps(event) and "processed" in json.dumps(event):
                return event


async def check_orders(app: MotiaApp, prefix: str = "", item: str = "tea", timeout: float = 60.0) -> dict[str, Any]:
    """The orders app: HTTP + middleware, the queue chain, state, the stream (read by a step and
    pushed to a WebSocket subscriber), the cron. ``prefix`` is the app's route prefix (``/node``)."""
    async with httpx.AsyncClient(base_url=app.base, timeout=10) as client:
        await served(app, client, f"{prefix}/stats", timeout)
        subscriber = await StreamClient.open(app.stream_port)
        stream_name = "nodeOrderStatus" if prefix == "/node" else "orderStatus"
        await subscriber.join("sub-1", stream_name, "orders")
        pushed = asyncio.ensure_future(stream_update(subscriber, f"{item}-2", timeout))
        try:
            result = await _check_orders(app, client, prefix, item, timeout)
            await asyncio.wait_for(pushed, timeout)  # the queue step's Stream.set reached the subscriber
        finally:
            pushed.cancel()
            await subscriber.close()
        return result


async def _check_orders(app: MotiaApp, client: httpx.AsyncClient, prefix: str, item: str,
                        timeout: float) -> dict[str, Any]:
    created = await client.post(f"{prefix}/orders", json={"item": item, "quantity": 2})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": f"{item}-2", "item": item, "quantity": 2, "status": "new"}
    assert created.headers.get("x-stamped") == "yes"  # the wrapping middleware edited the answer

    denied = await client.get(f"{prefix}/orders/{item}-2")  # the guard middleware, no key
    assert denied.status_code == 401, denied.text
    assert denied.json() == {"error": "Unauthorized"}

    async def processed() -> dict[str, Any] | None:
        got = await client.get(f"{prefix}/orders/{item}-2", headers={"x-key": "secret"})
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body if body["order"]["status"] == "processed" and body.get("stream") else None

    order = await eventually(processed, timeout=timeout, what="the queue step processed the order")
    assert order["stream"] == {"id": f"{item}-2", "status": "processed"}

    missing = await client.get(f"{prefix}/orders/none-0", headers={"x-key": "secret"})
    assert missing.status_code == 404

    async def stats() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"{prefix}/stats")).json()
        return body if body["ticks"] >= 2 and f"{item}-2" in body["notified"] else None

    result: dict[str, Any] = await eventually(stats, timeout=timeout,
                                              what="the cron ticked twice and the chain's last step ran")
    return result
