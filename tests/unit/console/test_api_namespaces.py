"""The console API and namespaces, against a fake engine that keys functions by (namespace, id):
rows carry their namespace and can be filtered to one, a function's detail and invoke reach the
copy in the namespace the browser named, cron "run now" runs the binding's target namespace,
per-worker counts do not mix two workers of one name, observers are listed when the engine has
them, and bad namespaces are answered 400 before anything reaches the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pyiii.console.api import ConsoleApi
from pyiii.console.caller import CallFailed
from pyiii.console.namespaces import InputError


class NamespacedEngine:
    """``functions[(namespace, id)]``: a value or a callable of the payload."""

    def __init__(self, functions: dict[tuple[str, str], Any]) -> None:
        self.functions = functions
        self.calls: list[tuple[str, str | None, Any]] = []

    async def call(self, function_id: str, payload: Any, timeout: float = 30.0, *,
                   namespace: str | None = None) -> Any:
        self.calls.append((function_id, namespace, payload))
        handler = self.functions.get((namespace or "default", function_id))
        if handler is None:
            raise CallFailed("function_not_found", f"Function {function_id} not found in namespace {namespace}")
        return handler(payload) if callable(handler) else handler

    async def close(self) -> None:
        return None

    def namespaces_called(self, function_id: str) -> list[str | None]:
        return [ns for fid, ns, _ in self.calls if fid == function_id]


FUNCTIONS = {"functions": [
    {"function_id": "svc::echo", "namespace": "team-a", "worker_name": "w"},
    {"function_id": "svc::echo", "namespace": "team-b", "worker_name": "w"},
    {"function_id": "steps::Old", "worker_name": "steps"},  # an engine before namespaces: no field
]}
WORKERS = {"workers": [
    {"id": "1", "name": "w", "namespace": "team-a", "pid": 1},
    {"id": "2", "name": "w", "namespace": "team-b", "pid": 2, "local_invocations": 5},
    {"id": "3", "name": "steps", "pid": 3},
]}
METRICS = {"engine_metrics": {"invocations": {"by_function": {
    "svc::echo": {"total": 4, "error": 1}, "steps::Old": {"total": 2, "error": 0}}}}}


def engine(**more: Any) -> NamespacedEngine:
    functions: dict[tuple[str, str], Any] = {
        ("default", "engine::functions::list"): FUNCTIONS,
        ("default", "engine::workers::list"): WORKERS,
        ("default", "engine::metrics::list"): METRICS,
    }
    functions.update({("default", k): v for k, v in more.items()})
    return NamespacedEngine(functions)


async def test_function_rows_carry_their_namespace_and_filter_to_one() -> None:
    api = ConsoleApi(engine(), {})
    every = await api.functions({})
    assert [(f["function_id"], f["namespace"]) for f in every["functions"]] == [
        ("svc::echo", "team-a"), ("svc::echo", "team-b"), ("steps::Old", "default")]
    assert every["namespaces"] == ["default", "team-a", "team-b"]
    only_b = await api.functions({"namespace": "team-b"})
    assert [(f["function_id"], f["namespace"]) for f in only_b["functions"]] == [("svc::echo", "team-b")]
    assert only_b["namespaces"] == every["namespaces"]  # the filter still offers every namespace
    assert (await api.functions({"namespace": "default"}))["functions"][0]["function_id"] == "steps::Old"


async def test_function_detail_asks_for_the_named_namespace_only_when_named() -> None:
    eng = engine(**{"engine::functions::info": lambda q: {"asked": q}})
    api = ConsoleApi(eng, {})
    assert (await api.function_info({"function_id": "svc::echo", "namespace": "team-b"}))["asked"] == {
        "function_id": "svc::echo", "namespace": "team-b"}
    assert (await api.function_info({"function_id": "svc::echo"}))["asked"] == {"function_id": "svc::echo"}


async def test_invoke_runs_the_copy_in_the_named_namespace() -> None:
    eng = engine()
    eng.functions[("team-a", "svc::echo")] = lambda p: {"from": "team-a", "got": p}
    eng.functions[("team-b", "svc::echo")] = lambda p: {"from": "team-b", "got": p}
    api = ConsoleApi(eng, {})
    r = await api.invoke({"function_id": "svc::echo", "namespace": "team-b", "input": {"n": 1}})
    assert r["ok"] and r["result"] == {"from": "team-b", "got": {"n": 1}}
    r = await api.invoke({"function_id": "svc::echo", "input": {}})  # no namespace: default, as any caller
    assert not r["ok"] and r["error"]["code"] == "function_not_found"
    assert eng.namespaces_called("svc::echo") == ["team-b", None]


async def test_cron_run_now_calls_the_binding_target_namespace() -> None:
    eng = engine(**{"engine::registered-triggers::list": {"registered_triggers": [
        {"id": "c1", "trigger_type": "cron", "function_id": "svc::tick", "namespace": "team-a"},
        {"id": "c2", "trigger_type": "cron", "function_id": "svc::tick"}]}})
    eng.functions[("team-a", "svc::tick")] = {"ran": "team-a"}
    eng.functions[("default", "svc::tick")] = {"ran": "default"}
    api = ConsoleApi(eng, {})
    assert (await api.cron_run({"trigger_id": "c1"}))["result"] == {"ran": "team-a"}
    assert (await api.cron_run({"trigger_id": "c2"}))["result"] == {"ran": "default"}


async def test_trigger_rows_filter_by_their_target_namespace() -> None:
    eng = engine(**{"engine::registered-triggers::list": {"registered_triggers": [
        {"id": "h1", "trigger_type": "http", "function_id": "svc::echo", "namespace": "team-a"},
        {"id": "h2", "trigger_type": "http", "function_id": "steps::Old"}]}})
    api = ConsoleApi(eng, {})
    every = await api.triggers({})
    assert [t["id"] for t in every["registered_triggers"]] == ["h1", "h2"]
    # the filter offers every namespace with a function, not only those with a binding yet
    assert every["namespaces"] == ["default", "team-a", "team-b"]
    assert [t["id"] for t in (await api.triggers({"namespace": "default"}))["registered_triggers"]] == ["h2"]
    assert (await api.triggers({"namespace": "team-b"}))["registered_triggers"] == []


async def test_workers_of_one_name_in_two_namespaces_keep_their_own_counts() -> None:
    api = ConsoleApi(engine(), {})
    rows = {(w["namespace"], w["name"]): w for w in (await api.workers({}))["workers"]}
    # each "w" owns one svc::echo; the engine's metrics are per id, so each shows that id's count
    assert rows[("team-a", "w")]["invocations"] == 4 and rows[("team-b", "w")]["invocations"] == 4
    assert rows[("default", "steps")]["invocations"] == 2
    assert rows[("team-b", "w")]["local_invocations"] == 5 and "local_invocations" not in rows[("team-a", "w")]
    only_a = await api.workers({"namespace": "team-a"})
    assert [w["id"] for w in only_a["workers"]] == ["1"] and only_a["namespaces"] == ["default", "team-a", "team-b"]


async def test_worker_pid_is_asked_in_the_worker_namespace() -> None:
    eng = engine(**{"engine::workers::info": lambda q: {"worker": {"pid": 40 if q["namespace"] == "team-b" else 0}}})
    eng.functions[("default", "engine::workers::list")] = {"workers": [{"id": "2", "name": "w", "namespace": "team-b"}]}
    assert (await ConsoleApi(eng, {}).workers({}))["workers"][0]["pid"] == 40
    assert [p for f, _, p in eng.calls if f == "engine::workers::info"] == [{"name": "w", "namespace": "team-b"}]


async def test_observers_are_listed_when_the_engine_has_them() -> None:
    rows = [{"id": "o1", "namespace": "team-a", "state": "active", "fires": 2}, {"id": "o2", "state": "pending"}]
    api = ConsoleApi(engine(**{"engine::observers::list": {"observers": rows}}), {})
    listed = await api.observers({})
    assert listed["available"] and [o["id"] for o in listed["observers"]] == ["o1", "o2"]
    assert listed["namespaces"] == ["default", "team-a", "team-b"]
    assert [o["id"] for o in (await api.observers({"namespace": "team-a"}))["observers"]] == ["o1"]


async def test_observers_without_the_function_say_it_is_not_there() -> None:
    assert await ConsoleApi(engine(), {}).observers({}) == {"available": False, "observers": [], "namespaces": []}


async def test_observers_list_failing_otherwise_is_an_error() -> None:
    def broken(_: Any) -> Any:
        raise CallFailed("FORBIDDEN", "no")

    with pytest.raises(CallFailed):
        await ConsoleApi(engine(**{"engine::observers::list": broken}), {}).observers({})


async def test_dead_letters_get_their_namespace_from_the_subscriber_queue() -> None:
    eng = engine(**{"engine::queue::dlq_messages": [
        {"id": "1", "queue": "orders::steps::Process@team-a", "function_id": None},
        {"id": "2", "queue": "orders::steps::Process", "function_id": None},
        {"id": "3", "queue": "orders::x@team-b", "function_id": "x", "namespace": "given"},
    ]})
    rows = (await ConsoleApi(eng, {}).dlq_messages({"topic": "orders"}))["messages"]
    assert [(r["function_id"], r.get("namespace")) for r in rows] == [
        ("steps::Process", "team-a"), ("steps::Process", None), ("x", "given")]


@pytest.mark.parametrize("call", [
    lambda api: api.functions({"namespace": " "}),
    lambda api: api.workers({"namespace": "x" * 300}),
    lambda api: api.triggers({"namespace": "a\x00"}),
    lambda api: api.observers({"namespace": "\t"}),
    lambda api: api.invoke({"function_id": "svc::echo", "namespace": 3}),
    lambda api: api.function_info({"function_id": "svc::echo", "namespace": " "}),
    lambda api: api.invoke({"namespace": "team-a"}),
    lambda api: api.function_info({"function_id": ["x"]}),
])
async def test_bad_input_never_reaches_the_engine(call: Callable[[ConsoleApi], Any]) -> None:
    eng = engine()
    with pytest.raises(InputError):
        await call(ConsoleApi(eng, {}))
    assert eng.calls == []


async def test_bad_namespaces_are_answered_400_over_http() -> None:
    eng = engine()
    api = ConsoleApi(eng, {}, max_namespace_chars=8)
    app = web.Application()
    app.add_routes(api.routes())
    async with TestClient(TestServer(app)) as client:
        too_long = await client.get("/api/functions", params={"namespace": "123456789"})
        assert too_long.status == 400
        assert (await too_long.json())["error"]["code"] == "INVALID_NAMESPACE"
        blank = await client.post("/api/invoke", json={"function_id": "svc::echo", "namespace": "  "})
        assert blank.status == 400 and "blank" in (await blank.json())["error"]["message"]
        assert eng.calls == []
        fine = await client.get("/api/functions", params={"namespace": "team-a"})
        assert fine.status == 200 and [f["namespace"] for f in (await fine.json())["functions"]] == ["team-a"]
