"""One engine with three worker-manager listeners and a trusted backend worker (official SDK)
that provides the auth function, the registration hooks, the middleware and the targets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")

EXPOSE = ['match("api::*")', {"metadata": {"public": True, "name": 'match("*public*")'}}]


@dataclass
class Rig:
    engine: EngineProcess
    backend: Any
    auth_port: int
    mw_port: int
    open_port: int
    calls: dict[str, list[Any]] = field(default_factory=dict)

    def url(self, port: int, query: str = "") -> str:
        return f"ws://127.0.0.1:{port}/{query}"

    def functions(self) -> set[str]:
        res = self.backend.trigger({"function_id": "engine::functions::list", "payload": {"include_internal": True}})
        return {f["function_id"] for f in res["functions"]}

    def wait_function(self, function_id: str, present: bool = True, timeout: float = 5.0) -> None:
        eventually_sync(lambda: (function_id in self.functions()) == present, timeout, 0.05,
                        what=f"{function_id} present={present}")


def _auth(calls: dict[str, list[Any]]) -> Any:
    def auth(data: dict[str, Any]) -> Any:
        calls["auth"].append(data)
        token = data["headers"].get("x-token") or (data["query_params"].get("token") or [None])[0]
        if token == "valid":
            return {}
        if token == "admin":
            return {
                "allowed_functions": ["internal::x", "engine::functions::list"],
                "forbidden_functions": ["api::secret"],
                "allow_trigger_type_registration": True,
                "context": {"role": "admin"},
            }
        if token == "prefixed":
            return {"function_registration_prefix": "tenant-a", "context": {"tenant": "a"}}
        if token == "noreg":
            return {"allow_function_registration": False, "allowed_trigger_types": ["durable:subscriber"]}
        if token == "badshape":
            return {"allowed_functions": None}
        if token == "none":
            return None
        raise ValueError("invalid token")

    return auth


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    from iii import InitOptions, register_worker

    workdir: Path = tmp_path_factory.mktemp("rbac")
    auth_port, mw_port, open_port = free_port(), free_port(), free_port()
    hooks = {
        "on_function_registration_function_id": "hooks::fn",
        "on_trigger_type_registration_function_id": "hooks::tt",
        "on_trigger_registration_function_id": "hooks::trig",
    }
    listeners = [
        {"name": "iii-worker-manager", "config": {"port": auth_port, "host": "127.0.0.1",
                                                   "rbac": {"auth_function_id": "auth::check",
                                                            "expose_functions": EXPOSE, **hooks}}},
        {"name": "iii-worker-manager", "config": {"port": mw_port, "host": "127.0.0.1",
                                                   "middleware_function_id": "mw::gate",
                                                   "rbac": {"auth_function_id": "auth::check",
                                                            "expose_functions": ['match("*")']}}},
        {"name": "iii-worker-manager", "config": {"port": open_port, "host": "127.0.0.1",
                                                   "rbac": {"expose_functions": ['match("api::*")']}}},
    ]
    engine = EngineProcess(workdir, workers=listeners).start()
    calls: dict[str, list[Any]] = {k: [] for k in ("auth", "fn", "tt", "trig", "mw", "echo", "hello")}
    backend = register_worker(engine.url, InitOptions(worker_name="backend", enable_metrics_reporting=False))

    def on_fn(data: dict[str, Any]) -> Any:
        calls["fn"].append(data)
        fid = data["function_id"]
        if fid.startswith("deny::"):
            raise ValueError("denied by policy")
        if fid == "nullres::x":
            return None
        if fid == "ren::me":
            return {"function_id": "ren::mapped", "description": None, "metadata": {"hooked": True}}
        return {}

    def on_tt(data: dict[str, Any]) -> Any:
        calls["tt"].append(data)
        if data["trigger_type_id"] == "tt::deny":
            raise ValueError("no trigger types for you")
        if data["trigger_type_id"] == "tt::ok":
            return {"trigger_type_id": "tt::ok-mapped"}
        return {}

    def on_trig(data: dict[str, Any]) -> Any:
        calls["trig"].append(data)
        if (data.get("config") or {}).get("deny"):
            raise ValueError("binding refused")
        return {"config": {**(data.get("config") or {}), "hooked": True}}

    def middleware(data: dict[str, Any]) -> Any:
        calls["mw"].append(data)
        return {"via": "middleware", "function_id": data["function_id"], "payload": data["payload"]}

    def echo(data: Any) -> Any:
        calls["echo"].append(data)
        return {"echo": data}

    backend.register_function("auth::check", _auth(calls))
    backend.register_function("hooks::fn", on_fn)
    backend.register_function("hooks::tt", on_tt)
    backend.register_function("hooks::trig", on_trig)
    backend.register_function("mw::gate", middleware)
    backend.register_function("api::echo", echo)
    backend.register_function("api::secret", lambda d: {"secret": 42})
    backend.register_function("internal::x", lambda d: {"internal": True})
    backend.register_function("pub::thing", lambda d: "public thing",
                              metadata={"public": True, "name": "the public thing"})
    backend.register_function("pub::other", lambda d: "other", metadata={"public": True, "name": "private"})
    backend.register_function("pub::nometa", lambda d: "nometa")
    rig = Rig(engine, backend, auth_port, mw_port, open_port, calls)
    rig.wait_function("pub::nometa")
    try:
        yield rig
    finally:
        backend.shutdown()
        engine.stop()
