"""A real engine with a trusted listener, an RBAC listener and iii-http, plus a trusted worker
that serves functions and counts every run (the side effects an attack must not cause)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker


class Rig:
    def __init__(self, workdir: Path, rbac: dict[str, Any] | None = None,
                 workers: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None) -> None:
        self.rbac_port = free_port()
        self.http_port = free_port()
        rbac_cfg = {"auth_function_id": "auth::check", "expose_functions": ['match("api::*")'], **(rbac or {})}
        self.engine = EngineProcess(workdir, workers=[
            {"name": "iii-worker-manager",
             "config": {"port": self.rbac_port, "host": "127.0.0.1", "rbac": rbac_cfg}},
            {"name": "iii-http", "config": {"port": self.http_port, "host": "127.0.0.1"}},
            *(workers or []),
        ], extra=extra)
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.rbac_url = f"ws://127.0.0.1:{self.rbac_port}"
        #: function id -> how many times a trusted worker ran it
        self.runs: Counter[str] = Counter()
        self._servers: list[asyncio.Future[None]] = []

    def start(self) -> Rig:
        self.engine.start()
        wait_port(self.http_port)
        wait_port(self.rbac_port)
        return self

    async def trusted(self, name: str, functions: list[str], metadata: Any = None) -> RawWorker:
        """A trusted worker serving ``functions``: each answers an HTTP-shaped echo naming it."""
        worker = await RawWorker.connect(self.engine.url)
        self._servers.append(asyncio.ensure_future(self._serve(worker, name)))
        for fid in functions:
            await worker.register(fid, **({"metadata": metadata} if metadata is not None else {}))
        await sync(worker)
        return worker

    async def _serve(self, worker: RawWorker, name: str) -> None:
        while True:
            frame = await worker.inbox.get()
            if frame.get("type") != "invokefunction":
                continue
            fid, inv = frame["function_id"], frame.get("invocation_id")
            self.runs[fid] += 1
            self.runs[f"{name}:{fid}"] += 1
            result: Any = {} if fid == "auth::check" else {
                "status_code": 200, "body": {"by": name, "function": fid, "got": frame["data"].get("body")}}
            if inv:
                await worker.send({"type": "invocationresult", "invocation_id": inv, "function_id": fid,
                                   "result": result})

    async def session(self) -> RawWorker:
        """An authenticated RBAC session (the auth function admits everyone)."""
        return await RawWorker.connect(self.rbac_url)

    async def bindings(self, worker: RawWorker, trigger_type: str) -> list[dict[str, Any]]:
        res = await worker.call("engine::registered-triggers::list",
                                {"trigger_type": trigger_type, "include_internal": True})
        rows: list[dict[str, Any]] = res["result"]["registered_triggers"]
        return rows

    async def post(self, path: str, body: Any) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(self.base + path, json=body, timeout=5)

    async def wait_route(self, path: str, by: str) -> httpx.Response:
        async def served() -> httpx.Response | None:
            r = await self.post(path, {"probe": True})
            return r if r.status_code == 200 and r.json().get("by") == by else None
        return await eventually(served, what=f"POST {path} served by {by}")  # type: ignore[no-any-return]

    async def stop(self) -> None:
        for server in self._servers:
            server.cancel()
        self.engine.stop()


async def sync(worker: RawWorker) -> None:
    """The engine handles a connection's frames in order: once a call is answered, every earlier
    frame is done (a call, not a ping: a trusted worker's inbox belongs to its serving loop)."""
    await worker.call("engine::baggage::get_all")


def http_binding(binding_id: str, function_id: str, path: str, method: str = "POST") -> dict[str, Any]:
    return {"type": "registertrigger", "id": binding_id, "trigger_type": "http", "function_id": function_id,
            "config": {"api_path": path, "http_method": method}}


def refusal(frame: dict[str, Any]) -> str | None:
    """The error code of a ``triggerregistrationresult``, if it is a refusal."""
    error = frame.get("error")
    return error.get("code") if isinstance(error, dict) else None
