"""Spec iii-0.23-0.25 §6.7 (RBAC), items 42–48; rules in §1.8 and §1.10.

One engine with four listeners besides the trusted one: two RBAC listeners without an auth
function (``match("api::*")`` for ``default``; ``{match: "api::*", namespace: orders}``), one
with an auth function and the two registration hooks, and one with a middleware. A trusted
backend (the official SDK pinned in pyproject, in this process) provides the auth function, the
hooks and a trigger type; the owners and the sessions are iii-sdk 0.25.0 workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.conftest import Connect, DriverWorker, NodeError, start_engine, uid, until_namespaces
from tests.support.engine import EngineProcess, free_port
from tests.support.waiting import eventually, eventually_sync

pytestmark = pytest.mark.interop

AUTH, ON_FUNCTION, ON_TRIGGER, MIDDLEWARE, HOOK_TYPE = "conf::auth", "conf::on-fn", "conf::on-trig", "conf::mw", \
    "conf-hook"

#: What the auth function answers per ``x-token`` header.
AUTH_RESULTS: dict[str, dict[str, Any]] = {
    "allowed": {"allowed_functions": ["svc::f43"]},
    "scoped": {"namespaces": {"orders": ["svc::*"]}},
    "forbid": {"forbidden_functions": ["svc::f45", "engine::functions::list"],
               "namespaces": {"default": ["svc::*"], "orders": ["svc::*"]}},
    "hooks": {"namespaces": {"orders": ["h47::*"], "default": ["h47::*"]}},
}


def listener(port: int, **config: Any) -> dict[str, Any]:
    return {"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1", **config}}


@dataclass
class Rig:
    engine: EngineProcess
    ports: dict[str, int]
    calls: dict[str, list[Any]] = field(default_factory=lambda: {"fn": [], "trig": []})

    def url(self, name: str) -> str:
        return f"ws://127.0.0.1:{self.ports[name]}"


def backend_functions(rig: Rig) -> dict[str, Any]:
    def auth(data: dict[str, Any]) -> Any:
        token = data["headers"].get("x-token")
        if token not in AUTH_RESULTS:
            raise ValueError("unknown token")
        return AUTH_RESULTS[token]

    def on_function(data: dict[str, Any]) -> Any:
        rig.calls["fn"].append(data)
        return {}

    def on_trigger(data: dict[str, Any]) -> Any:
        rig.calls["trig"].append(data)
        return {}

    return {AUTH: auth, ON_FUNCTION: on_function, ON_TRIGGER: on_trigger}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    from iii import InitOptions, register_worker
    from iii.triggers import TriggerHandler

    ports = {name: free_port() for name in ("open_default", "open_orders", "auth", "mw")}
    engine = start_engine(tmp_path_factory.mktemp("conf-6-7"), workers=[
        listener(ports["open_default"], rbac={"expose_functions": ['match("api::*")']}),
        listener(ports["open_orders"], rbac={"expose_functions": [{"match": "api::*", "namespace": "orders"}]}),
        listener(ports["auth"], rbac={"auth_function_id": AUTH, "on_function_registration_function_id": ON_FUNCTION,
                                      "on_trigger_registration_function_id": ON_TRIGGER}),
        listener(ports["mw"], middleware_function_id=MIDDLEWARE),
    ])
    rig = Rig(engine, ports)

    class Provider(TriggerHandler[Any]):
        async def register_trigger(self, config: Any) -> None: ...
        async def unregister_trigger(self, config: Any) -> None: ...

    backend = register_worker(engine.url, InitOptions(worker_name=uid("backend"), enable_metrics_reporting=False))
    try:
        for fid, handler in backend_functions(rig).items():
            backend.register_function(fid, handler)
        backend.register_trigger_type({"id": HOOK_TYPE, "description": "a type to bind"}, Provider())

        def ready() -> bool:
            listed = backend.trigger({"function_id": "engine::triggers::list", "payload": {}})
            functions = backend.trigger({"function_id": "engine::functions::list", "payload": {}})
            return any(t["id"] == HOOK_TYPE for t in listed["triggers"]) and \
                ON_TRIGGER in {f["function_id"] for f in functions["functions"]}

        eventually_sync(ready, 10, 0.05, what="the backend's registrations")
        yield rig
    finally:
        backend.shutdown()
        engine.stop()


async def refusal(caller: DriverWorker, function_id: str, payload: Any = None, **options: Any) -> NodeError:
    with pytest.raises(NodeError) as refused:
        await caller.trigger(function_id, payload if payload is not None else {}, **options)
    return refused.value


async def owners(rig: Rig, worker: Connect, function_id: str, *namespaces: str) -> dict[str, DriverWorker]:
    """A trusted 0.25 worker owning ``function_id`` in each namespace (``default`` for no namespace)."""
    made = {}
    for ns in namespaces:
        w = await worker(rig.engine.url, namespace=None if ns == "default" else ns)
        await w.register_function(function_id, "echo")
        made[ns] = w
    await until_namespaces(next(iter(made.values())), function_id, list(namespaces))
    return made


async def session(rig: Rig, worker: Connect, port: str, token: str | None = None,
                  namespace: str | None = None) -> DriverWorker:
    headers = {"x-token": token} if token else None
    return await worker(rig.url(port), namespace=namespace, headers=headers)


async def test_42_expose_rules_cover_default_unless_they_name_a_namespace(rig: Rig, worker: Connect) -> None:
    fid = uid("api::x")
    owner = (await owners(rig, worker, fid, "orders"))["orders"]

    outside = await session(rig, worker, "open_default", namespace="orders")
    refused = await refusal(outside, fid)
    assert refused.code == "FORBIDDEN"

    inside = await session(rig, worker, "open_orders", namespace="orders")
    assert (await inside.trigger(fid, {}))["worker"] == owner.handle


async def test_43_allowed_functions_apply_in_default_only(rig: Rig, worker: Connect) -> None:
    by_ns = await owners(rig, worker, "svc::f43", "default", "orders")
    s = await session(rig, worker, "auth", "allowed")

    assert (await s.trigger("svc::f43", {}))["worker"] == by_ns["default"].handle
    assert (await refusal(s, "svc::f43", namespace="orders")).code == "FORBIDDEN"


async def test_44_namespaces_grant_and_scope_the_session(rig: Rig, worker: Connect) -> None:
    fid = uid("svc::f44")
    by_ns = await owners(rig, worker, fid, "orders")
    s = await session(rig, worker, "auth", "scoped", namespace="orders")

    assert (await s.trigger(fid, {}))["worker"] == by_ns["orders"].handle
    declared = await refusal(s, "engine::workers::register", {"name": uid("elsewhere"), "namespace": "billing"})
    assert declared.code == "FORBIDDEN"
    assert "permitted: orders" in declared.message


async def test_45_forbidden_functions_deny_in_every_namespace(rig: Rig, worker: Connect) -> None:
    await owners(rig, worker, "svc::f45", "default", "orders")
    control = uid("svc::g45")
    by_ns = await owners(rig, worker, control, "orders")
    s = await session(rig, worker, "auth", "forbid")

    assert (await refusal(s, "svc::f45")).code == "FORBIDDEN"
    assert (await refusal(s, "svc::f45", namespace="orders")).code == "FORBIDDEN"
    assert (await refusal(s, "engine::functions::list")).code == "FORBIDDEN"  # an infrastructure id
    assert (await s.trigger(control, {}, namespace="orders"))["worker"] == by_ns["orders"].handle


async def test_46_middleware_gets_namespace_runs_in_the_calls_namespace_and_bypasses_engine_builtins(
    rig: Rig, worker: Connect
) -> None:
    gates = await owners(rig, worker, MIDDLEWARE, "default", "orders")
    custom = uid("engine::custom")
    custom_owner = await worker(rig.engine.url)
    await custom_owner.register_function(custom, "echo")
    await until_namespaces(custom_owner, custom, ["default"])
    target = uid("svc::behind")
    in_orders = await worker(rig.url("mw"), namespace="orders")
    in_default = await worker(rig.url("mw"))

    via_orders = await in_orders.trigger(target, {"n": 1})
    assert via_orders["worker"] == gates["orders"].handle  # the middleware registered in orders
    assert via_orders["data"]["namespace"] == "orders"
    assert via_orders["data"]["function_id"] == target and via_orders["data"]["payload"] == {"n": 1}

    assert "functions" in await in_default.trigger("engine::functions::list", {})  # bypassed: the real list

    via_custom = await in_default.trigger(custom, {"n": 2})
    assert via_custom["worker"] == gates["default"].handle  # a worker's engine::* id is not bypassed
    assert via_custom["data"]["function_id"] == custom and via_custom["data"]["namespace"] == "default"


async def test_47_registration_hooks_get_the_worker_and_the_target_namespace(rig: Rig, worker: Connect) -> None:
    fid = uid("h47::fn")
    s = await session(rig, worker, "auth", "hooks", namespace="orders")
    await s.register_function(fid, "echo")
    await s.register_trigger(HOOK_TYPE, fid, {"n": "worker's"})
    await s.register_trigger(HOOK_TYPE, fid, {"n": "default's"}, namespace="default")

    fn_calls = await eventually(lambda: [c for c in rig.calls["fn"] if c["function_id"] == fid], 10,
                                what="the function-registration hook")
    assert [c["namespace"] for c in fn_calls] == ["orders"]

    async def both_bindings() -> list[Any]:
        seen = [c for c in rig.calls["trig"] if c["function_id"] == fid]
        return seen if len(seen) == 2 else []

    trig_calls = await eventually(both_bindings, 10, what="the trigger-registration hook, twice")
    assert sorted((c["config"]["n"], c["namespace"]) for c in trig_calls) == [("default's", "default"),
                                                                              ("worker's", "orders")]


@pytest.mark.parametrize("rule", [
    {"match": "api::*", "namesapce": "orders"},
    {"match": "api::*", "metadata": {"public": True}},
], ids=["unknown-key", "match-and-metadata"])
def test_48_bad_expose_functions_maps_are_config_errors(tmp_path: Path, rule: dict[str, Any]) -> None:
    bad = EngineProcess(tmp_path, workers=[listener(free_port(), rbac={"expose_functions": [rule]})])

    with pytest.raises(RuntimeError, match="before listening"):
        bad.start(timeout=30)

    assert bad.proc is not None and bad.proc.returncode != 0
    assert "expose_functions" in bad.logs()

