"""Issue #18: the official SDK version matrix against a real pyiii engine process.

"Basic use works unchanged" runs for every Python ``iii-sdk`` of ``MATRIX`` (0.22.1 is the
control; each version runs in its own ``py_driver.py`` process, tests/support/official_sdks.py)
and for the pinned Node SDK, written once against the drivers' shared vocabulary. The features
of the 0.23 → 0.25 generation follow through every SDK that has the feature (namespaces: 0.23+;
observe and local dispatch: 0.25); one pyiii does not have yet is a strict xfail (observe),
and whoever implements it must flip its test. tests/interop/test_local_dispatch.py has the rest
of local dispatch and feature negotiation.

Run one version: ``pytest tests/interop/test_sdk_matrix.py -k 0.25.0`` (tests/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.conftest import ENGINE_ERRORS, DriverWorker, NodeDriver, NodeError, uid, until_registered
from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.official_sdks import MATRIX
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop

SDK_025 = "0.25.0"
#: The SDKs with namespaces (0.23+): the namespace statements of #18 run through each of them.
NAMESPACED = [v for v in MATRIX if v != "0.22.1"]
KINDS = (*MATRIX, "node")
MIDDLEWARE = "mw::matrix-gate"


class MatrixEngine:
    """One engine for the module: http, state, stream, queue, cron, a second listener whose calls
    pass through ``MIDDLEWARE`` and an RBAC listener that exposes only ``matrix::open-*``."""

    def __init__(self, workdir: Path) -> None:
        memory = {"name": "kv", "config": {"store_method": "in_memory"}}
        self.http_port, self.mw_port, self.rbac_port = free_port(), free_port(), free_port()
        self.proc = EngineProcess(workdir, workers=[
            {"name": "iii-worker-manager", "config": {"port": self.mw_port, "host": "127.0.0.1",
                                                       "middleware_function_id": MIDDLEWARE}},
            {"name": "iii-worker-manager", "config": {"port": self.rbac_port, "host": "127.0.0.1",
                                                       "rbac": {"expose_functions": ['match("matrix::open-*")']}}},
            {"name": "iii-http", "config": {"port": self.http_port, "host": "127.0.0.1"}},
            {"name": "iii-state", "config": {"adapter": memory}},
            {"name": "iii-stream", "config": {"adapter": memory, "port": free_port(), "host": "127.0.0.1"}},
            {"name": "iii-queue", "config": {}},
            {"name": "iii-cron", "config": {}},
        ])

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def mw_url(self) -> str:
        return f"ws://127.0.0.1:{self.mw_port}"

    @property
    def rbac_url(self) -> str:
        return f"ws://127.0.0.1:{self.rbac_port}"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MatrixEngine]:
    eng = MatrixEngine(tmp_path_factory.mktemp("matrix"))
    eng.proc.start()
    try:
        wait_port(eng.http_port)
        yield eng
    finally:
        eng.proc.stop()


@pytest.fixture
def sdk(request: pytest.FixtureRequest, official_py: Callable[[str], NodeDriver]) -> Callable[[str], NodeDriver]:
    """``sdk(kind)``: the driver process of an SDK kind (a Python version, or ``"node"``)."""

    def driver(kind: str) -> NodeDriver:
        if kind == "node":
            return request.getfixturevalue("node_driver")  # type: ignore[no-any-return]
        return official_py(kind)

    return driver


@pytest.fixture
def connect(sdk: Callable[[str], NodeDriver], driver_worker: Any) -> Callable[..., Any]:
    """``await connect(kind, url, name=None, **options)`` -> a connected worker of that SDK."""

    async def make(kind: str, url: str, name: str | None = None, **options: Any) -> DriverWorker:
        return await driver_worker(sdk(kind), url, name or uid(f"matrix-{kind}"), **options)  # type: ignore[no-any-return]

    return make


# ----------------------------------------------------------------------------- basic use, every SDK


@pytest.mark.parametrize("kind", KINDS)
async def test_register_and_trigger_across_two_workers(engine: MatrixEngine, connect: Any, kind: str) -> None:
    owner = await connect(kind, engine.url)
    caller = await connect(kind, engine.url)
    fid = uid("matrix::echo")
    await owner.register_function(fid, "echo")
    await until_registered(caller, fid)

    result = await caller.trigger(fid, {"n": 1, "text": "héllo"}, metadata={"trace": "m-1"})

    assert result["runtime"] == owner.label
    assert result["data"]["n"] == 1 and result["data"]["text"] == "héllo"
    assert result["data"]["_caller_worker_id"] == caller.worker_id
    assert result["metadata"] == {"trace": "m-1"}


@pytest.mark.parametrize("kind", KINDS)
async def test_void_and_enqueue_reach_the_owner(engine: MatrixEngine, connect: Any, kind: str) -> None:
    owner = await connect(kind, engine.url)
    caller = await connect(kind, engine.url)
    fid = uid("matrix::record")
    await owner.register_function(fid, "record")
    await until_registered(caller, fid)

    assert await caller.trigger(fid, {"via": "void"}, action={"type": "void"}) is None
    receipt = await caller.trigger(fid, {"via": "enqueue"}, action={"type": "enqueue", "queue": "default"})

    assert receipt["messageReceiptId"]
    for via in ("void", "enqueue"):
        await owner.driver.wait_event(lambda e, v=via: e.get("function_id") == fid and e["data"].get("via") == v)


@pytest.mark.parametrize("kind", KINDS)
async def test_errors_surface_with_their_code(engine: MatrixEngine, connect: Any, kind: str) -> None:
    owner = await connect(kind, engine.url)
    caller = await connect(kind, engine.url)
    fid = uid("matrix::fails")
    await owner.register_function(fid, "fail")
    await until_registered(caller, fid)

    with pytest.raises(NodeError) as failed:
        await caller.trigger(fid, {"x": 1})
    assert failed.value.code == "invocation_failed"
    assert "handler failed" in failed.value.message
    with pytest.raises(NodeError) as missing:
        await caller.trigger(uid("matrix::nobody"), {})
    assert missing.value.code == "function_not_found"


@pytest.mark.parametrize("kind", KINDS)
async def test_http_trigger_serves_a_real_request(engine: MatrixEngine, connect: Any, kind: str) -> None:
    w = await connect(kind, engine.url)
    fid, path = uid("matrix::http"), f"/{uid('matrix')}"
    await w.register_function(fid, "http")
    await w.register_trigger("http", fid, {"api_path": path, "http_method": "POST"})

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{engine.http_port}", timeout=5) as client:
        async def served() -> httpx.Response | None:
            response = await client.post(path, json={"q": kind})
            return response if response.status_code != 404 else None

        response = await eventually(served, 10, 0.05, what=f"POST {path}")

    assert response.status_code == 200
    assert response.json()["runtime"] == w.label
    assert response.json()["method"] == "POST"
    assert response.json()["body"] == {"q": kind}


@pytest.mark.parametrize("kind", KINDS)
async def test_state_and_cron_triggers_fire(engine: MatrixEngine, connect: Any, kind: str) -> None:
    w = await connect(kind, engine.url)
    on_state, on_tick, scope = uid("matrix::on-state"), uid("matrix::on-tick"), uid("scope")
    await w.register_function(on_state, "record")
    await w.register_function(on_tick, "record")
    await w.register_trigger("state", on_state, {"scope": scope})
    await w.register_trigger("cron", on_tick, {"expression": "* * * * * *"})
    await until_registered(w, on_state, on_tick)

    async def write() -> bool:
        await w.trigger("state::set", {"scope": scope, "key": "k", "value": {"v": 1}})
        return True

    # The binding has no ack: write until it fires (a write before it landed is not an event).
    fired = asyncio.create_task(w.driver.wait_event(lambda e: e.get("function_id") == on_state, 10))
    try:
        await eventually(lambda: fired.done() or write(), 10, 0.1, what="state trigger")
        await fired
    finally:
        fired.cancel()
    await w.driver.wait_event(lambda e: e.get("function_id") == on_tick, 5)


@pytest.mark.parametrize("kind", KINDS)
async def test_stream_set_then_get(engine: MatrixEngine, connect: Any, kind: str) -> None:
    w = await connect(kind, engine.url)
    item = {"stream_name": uid("matrix-stream"), "group_id": "g", "item_id": "i"}

    await w.trigger("stream::set", {**item, "data": {"by": kind}})

    assert await w.trigger("stream::get", item) == {"by": kind}


@pytest.mark.parametrize("kind", MATRIX)
async def test_channel_reader_passed_in_a_payload(engine: MatrixEngine, connect: Any, kind: str) -> None:
    """``iii.helpers.create_channel``: the writer fills and closes it before the call; the owner
    gets a live ``ChannelReader`` in its payload (the Node driver only reads: test_channels.py)."""
    owner = await connect(kind, engine.url)
    writer = await connect(kind, engine.url)
    fid = uid("matrix::read-channel")
    await owner.register_function(fid, "read_channel")
    await until_registered(writer, fid)

    result = await writer.channel_send(fid, "päyload-" * 1000, "text-item")

    assert result == {"text": "päyload-" * 1000, "messages": ["text-item"]}


@pytest.mark.parametrize("kind", KINDS)
async def test_listener_middleware_sees_the_call(engine: MatrixEngine, connect: Any, kind: str) -> None:
    """A call on a listener with ``middleware_function_id`` reaches the middleware (which answers
    for it here) with the target id and payload."""
    gate = await connect(kind, engine.url)
    await gate.register_function(MIDDLEWARE, "echo")
    caller = await connect(kind, engine.mw_url)
    fid = uid("matrix::behind-gate")
    await until_registered(gate, MIDDLEWARE)

    result = await caller.trigger(fid, {"n": 7})

    assert result["runtime"] == gate.label
    assert result["data"]["function_id"] == fid
    assert result["data"]["payload"]["n"] == 7
    await gate.shutdown()


@pytest.mark.parametrize("kind", KINDS)
async def test_rbac_listener_exposes_only_its_functions(engine: MatrixEngine, connect: Any, kind: str) -> None:
    owner = await connect(kind, engine.url)
    open_fid, closed_fid = uid("matrix::open"), uid("matrix::closed")
    await owner.register_function(open_fid, "echo")
    await owner.register_function(closed_fid, "echo")
    await until_registered(owner, open_fid, closed_fid)
    outsider = await connect(kind, engine.rbac_url)

    assert (await outsider.trigger(open_fid, {"n": 1}))["data"]["n"] == 1
    with pytest.raises(NodeError) as refused:
        await outsider.trigger(closed_fid, {"n": 2})
    assert refused.value.code == "FORBIDDEN"


async def test_every_sdk_reconnects_after_the_engine_restarts(
    tmp_path: Path, connect: Any
) -> None:
    """One engine of its own (a restart would disturb the module's): each SDK's worker replays
    its function and is callable again."""
    engine = EngineProcess(tmp_path).start()
    try:
        workers = {kind: await connect(kind, engine.url) for kind in KINDS}
        fids = {kind: uid(f"matrix::restart-{kind}") for kind in KINDS}
        for kind, w in workers.items():
            await w.register_function(fids[kind], "echo")
        probe = workers[MATRIX[0]]
        await until_registered(probe, *fids.values())

        engine.stop()
        engine.start()

        await until_registered(probe, *fids.values(), timeout=20)
        for kind, fid in fids.items():
            result = await eventually(lambda f=fid: probe.trigger(f, {"after": "restart"}, timeout_ms=2000),
                                      10, what=f"{kind} callable after restart", retry_on=ENGINE_ERRORS)
            assert result["runtime"] == workers[kind].label, kind
    finally:
        engine.stop()


# ----------------------------------------------------------------------------- #18, per SDK that has it


def not_yet(feature: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"#18: {feature} not implemented")


@pytest.mark.parametrize("version", NAMESPACED)
async def test_namespaces_isolate_the_same_function_id(engine: MatrixEngine, connect: Any, version: str) -> None:
    """Spec §6.3 item 15: the same id in ``team-a`` and ``team-b``, each caller reaches its own."""
    fid = uid("shared::who")
    team_a = await connect(version, engine.url, namespace="team-a")
    team_b = await connect(version, engine.url, namespace="team-b")
    await team_a.register_function(fid, "echo")
    await eventually(lambda: team_a.trigger(fid, {}), 10, what="team-a's copy", retry_on=ENGINE_ERRORS)
    await team_b.register_function(fid, "echo")
    await eventually(lambda: team_b.trigger(fid, {}), 10, what="team-b's copy", retry_on=ENGINE_ERRORS)

    assert (await team_b.trigger(fid, {}))["namespace"] == "team-b"
    assert (await team_a.trigger(fid, {}))["namespace"] == "team-a"


@pytest.mark.parametrize("version", NAMESPACED)
async def test_functions_list_rows_carry_namespace(engine: MatrixEngine, connect: Any, version: str) -> None:
    """Spec §6.2 item 7."""
    w = await connect(version, engine.url, namespace="orders")
    fid = uid("svc::listed")
    await w.register_function(fid, "echo")
    await until_registered(w, fid)

    rows = (await w.trigger("engine::functions::list", {}))["functions"]

    assert [row.get("namespace") for row in rows if row["function_id"] == fid] == ["orders"]


@not_yet("observe")
async def test_observe_becomes_ready(engine: MatrixEngine, connect: Any) -> None:
    """Spec §6.9 item 54 (its first step): against an engine with ``observe.v1`` the handle
    turns ``active``; today it is ``error`` / ``UNSUPPORTED``."""
    w = await connect(SDK_025, engine.url)
    source, target = uid("orders::create"), uid("alerts::notify")
    await w.register_function(source, "echo")
    await w.register_function(target, "record")
    await until_registered(w, source, target)

    handle = await w.observe({"function_id": source}, target)

    assert await w.observer_ready(handle, 5) == {"state": "active", "reason": None}


async def test_own_function_runs_locally(engine: MatrixEngine, connect: Any) -> None:
    """Spec §6.8 items 49 and 51: once ``functionregistered`` allows it, a worker's call of its
    own function never reaches the engine, so the engine does not inject ``_caller_worker_id``."""
    w = await connect(SDK_025, engine.url)
    fid = uid("svc::mine")
    await w.register_function(fid, "echo")
    await until_registered(w, fid)

    async def local() -> bool:
        return "_caller_worker_id" not in (await w.trigger(fid, {"n": 1}))["data"]

    await eventually(local, 2, 0.05, what="a local call")


@pytest.mark.parametrize("version", NAMESPACED)
async def test_second_owner_of_an_id_is_rejected(engine: MatrixEngine, connect: Any, version: str) -> None:
    """Spec §6.4 / §4.2: the second live registration of an id in a namespace is refused; calls
    keep reaching the first owner and the second worker stays connected."""
    first = await connect(version, engine.url, namespace="orders")
    second = await connect(version, engine.url, namespace="orders")
    fid = uid("svc::dup")
    await first.register_function(fid, "echo")
    await until_registered(first, fid)
    await second.register_function(fid, "echo")
    await second.register_function(f"{fid}-barrier", "echo")  # sent after the duplicate
    await until_registered(first, f"{fid}-barrier")

    assert (await first.trigger(fid, {}))["worker"] == first.handle
    assert (await second.connection())["state"] == "connected"


@pytest.mark.parametrize("version", NAMESPACED)
async def test_a_call_may_name_another_namespace(engine: MatrixEngine, connect: Any, version: str) -> None:
    """Spec §6.3 items 16-17: ``trigger({..., namespace})`` routes there; a call that names no
    namespace looks in default only, and the error says where the id is."""
    fid = uid("shared::where")
    team_a = await connect(version, engine.url, namespace="team-a")
    team_b = await connect(version, engine.url, namespace="team-b")
    outsider = await connect(version, engine.url)
    await team_b.register_function(fid, "echo")
    await eventually(lambda: team_b.trigger(fid, {}), 10, what="team-b's copy", retry_on=ENGINE_ERRORS)

    assert (await team_a.trigger(fid, {}, namespace="team-b"))["namespace"] == "team-b"
    with pytest.raises(NodeError) as refused:
        await outsider.trigger(fid, {})
    assert refused.value.code == "function_not_found"
    assert "not found in namespace default" in refused.value.message
    assert "It is registered in namespace(s): team-b." in refused.value.message


@pytest.mark.parametrize("version", NAMESPACED)
async def test_function_info_resolves_namespaces(engine: MatrixEngine, connect: Any, version: str) -> None:
    """Spec §6.6 item 39: unique namespace found, two namespaces ambiguous, explicit one strict."""
    fid = uid("svc::info")
    a = await connect(version, engine.url, namespace="info-a")
    b = await connect(version, engine.url, namespace="info-b")
    await a.register_function(fid, "echo")
    await eventually(lambda: a.trigger(fid, {}), 10, what="a's copy", retry_on=ENGINE_ERRORS)
    assert (await a.trigger("engine::functions::info", {"function_id": fid}))["namespace"] == "info-a"
    await b.register_function(fid, "echo")
    await eventually(lambda: b.trigger(fid, {}), 10, what="b's copy", retry_on=ENGINE_ERRORS)

    with pytest.raises(NodeError) as ambiguous:
        await a.trigger("engine::functions::info", {"function_id": fid})
    assert "ambiguous" in ambiguous.value.message and "info-a, info-b" in ambiguous.value.message
    detail = await a.trigger("engine::functions::info", {"function_id": fid, "namespace": "info-b"})
    assert detail["namespace"] == "info-b"
    with pytest.raises(NodeError):
        await a.trigger("engine::functions::info", {"function_id": fid, "namespace": "info-c"})


async def test_a_second_025_worker_with_a_taken_name_is_rejected_for_good(
    engine: MatrixEngine, connect: Any
) -> None:
    """Spec §6.4 item 26: WORKER_NAMESPACE_CONFLICT closes the newcomer; the 0.25 SDK stops."""
    name = uid("state")
    first = await connect(SDK_025, engine.url, name=name, namespace="orders")
    second = await connect(SDK_025, engine.url, name=name, namespace="orders")

    async def failed() -> bool:
        return (await second.connection())["state"] == "failed"

    await eventually(failed, 10, what="the second worker's connection to fail")
    assert (await first.connection())["state"] == "connected"
    workers = (await first.trigger("engine::workers::list", {}))["workers"]
    assert [w["id"] for w in workers if w["name"] == name] == [first.worker_id]


async def test_two_0221_workers_with_one_name_both_stay(engine: MatrixEngine, connect: Any) -> None:
    """Spec §6.4 item 29 and decision D1: a 0.22.1 payload names no namespace key, the name rule
    does not apply to it, and it is never closed."""
    name = uid("host:1234")
    first = await connect("0.22.1", engine.url, name=name)
    second = await connect("0.22.1", engine.url, name=name)
    fid = uid("svc::both")
    await second.register_function(fid, "echo")
    await until_registered(first, fid)

    async def both_listed() -> bool:
        workers = (await first.trigger("engine::workers::list", {}))["workers"]
        return sorted(w["id"] for w in workers if w["name"] == name) == sorted([first.worker_id, second.worker_id])

    await eventually(both_listed, 10, what="both workers listed")
    assert (await second.trigger(fid, {}))["worker"] == second.handle


async def test_pyiii_sdk_workers_in_two_namespaces(engine: MatrixEngine, py_worker: Any) -> None:
    """pyiii.sdk ``InitOptions(namespace=…)`` against the engine: the same id in two namespaces,
    each worker's calls reach its own copy, another namespace is reached by naming it."""
    fid = uid("shared::who")
    workers = {ns: await py_worker("pyiii", engine.url, namespace=ns) for ns in ("py-a", "py-b")}
    for ns, w in workers.items():

        async def who(_data: Any, ns: str = ns) -> str:
            return ns

        w.client.register_function(fid, who)
    for ns, w in workers.items():
        got = await eventually(lambda w=w: w.trigger(fid, {}), 10, what=f"{ns}'s copy", retry_on=ENGINE_ERRORS)
        assert got == ns
    other = {"function_id": fid, "payload": {}, "namespace": "py-b"}
    assert await asyncio.to_thread(workers["py-a"].client.trigger, other) == "py-b"
    rows = await workers["py-a"].trigger("engine::functions::list", {})
    assert sorted(r["namespace"] for r in rows["functions"] if r["function_id"] == fid) == ["py-a", "py-b"]


@pytest.mark.parametrize("version", NAMESPACED)
async def test_expose_rules_without_a_namespace_cover_default_only(
    engine: MatrixEngine, connect: Any, version: str
) -> None:
    """Spec §6.7 item 42: ``match("matrix::open-*")`` exposes default's functions; a session in
    ``orders`` (the SDK names it on every call) is refused the same id in ``orders``."""
    fid = uid("matrix::open-ns")
    owner = await connect(version, engine.url, namespace="orders")
    await owner.register_function(fid, "echo")
    await eventually(lambda: owner.trigger(fid, {}), 10, what="the orders copy", retry_on=ENGINE_ERRORS)
    outsider = await connect(version, engine.rbac_url, namespace="orders")

    with pytest.raises(NodeError) as refused:
        await outsider.trigger(fid, {})
    assert refused.value.code == "FORBIDDEN"


async def test_a_pyiii_sdk_worker_whose_name_is_taken_stops(engine: MatrixEngine, py_worker: Any) -> None:
    """pyiii.sdk handles ``registrationrejected`` as iii-sdk 0.23+ does (spec §4.3): a taken
    worker name is final (no reconnect loop), calls fail with the code."""
    name = uid("py-named")
    first = await py_worker("pyiii", engine.url, name, namespace="py-orders")
    second = await py_worker("pyiii", engine.url, name, namespace="py-orders")

    await eventually(lambda: second.client.get_connection_state() == "failed", 10, what="the second one failed")
    with pytest.raises(second.sdk.InvocationError) as refused:
        await second.trigger("engine::functions::list", {})
    assert refused.value.code == "WORKER_NAMESPACE_CONFLICT"
    assert first.client.get_connection_state() == "connected"


@pytest.mark.parametrize("version", NAMESPACED)
async def test_an_http_route_runs_the_function_of_its_namespace(
    engine: MatrixEngine, connect: Any, version: str
) -> None:
    """Spec §6.5 item 30: a route bound by a worker in ``orders`` runs ``orders``' copy of the id,
    not the ``default`` one (the SDK names its namespace on the binding)."""
    fid, path = uid("svc::h"), f"/{uid('ns-route')}"
    in_orders = await connect(version, engine.url, namespace="orders")
    in_default = await connect(version, engine.url)
    await in_default.register_function(fid, "http")
    await until_registered(in_default, fid)
    await in_orders.register_function(fid, "http")
    await in_orders.register_trigger("http", fid, {"api_path": path, "http_method": "POST"})

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{engine.http_port}", timeout=5) as client:
        async def served() -> httpx.Response | None:
            response = await client.post(path, json={"q": 1})
            return response if response.status_code == 200 else None

        response = await eventually(served, 10, 0.05, what=f"POST {path}")

    assert response.json()["worker"] == in_orders.handle
