"""The SDK's side of the 0.23 → 0.25 wire rules, pinned against a scripted engine.

The real official ``iii-sdk`` (0.25.0 unless a test says otherwise) runs in ``py_driver.py`` and
talks to ``tests/support/scripted_engine.py``, which records every frame and pushes what an engine
would send. These tests pass without any engine work: they give whoever implements issue #18 the
exact frames to expect and to produce (spec iii-0.23-0.25 §1.2, §1.3, §1.9, §2, §3, §4, App. C).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.interop.conftest import DriverWorker, NodeDriver, NodeError, uid
from tests.support.official_sdks import MATRIX
from tests.support.scripted_engine import ScriptedEngine
from tests.support.waiting import eventually, stays

pytestmark = pytest.mark.interop

SDK = "0.25.0"
ENGINE_FEATURES = ["observe.v1", "local-dispatch.v1"]
OBSERVE_FAMILY = {"observe", "unobserve", "observerack", "invocationsobserved", "localinvocationstats"}


@pytest.fixture
async def engine() -> AsyncIterator[ScriptedEngine]:
    """An engine that advertises no features (what pyiii is today)."""
    scripted = await ScriptedEngine().start()
    yield scripted
    await scripted.stop()


@pytest.fixture
async def engine_025() -> AsyncIterator[ScriptedEngine]:
    """An engine that advertises observe and local dispatch (what pyiii will be)."""
    scripted = await ScriptedEngine(features=ENGINE_FEATURES).start()
    yield scripted
    await scripted.stop()


@pytest.fixture
def sdk(official_py: Callable[[str], NodeDriver]) -> NodeDriver:
    return official_py(SDK)


def register_call(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "invokefunction" and frame.get("function_id") == "engine::workers::register"


# ----------------------------------------------------------------------------- handshake (§1.3, §2.1)


#: What each SDK adds to the ``engine::workers::register`` payload: the keys the D1 policy
#: (spec §0.3) uses to tell a 0.23+ client from a 0.22.1 one.
REGISTER_KEYS = {"0.22.1": set(), "0.23.0": {"namespace"}, "0.24.6": {"namespace"}, "0.25.0": {"namespace", "features"}}


@pytest.mark.parametrize("version", MATRIX)
async def test_register_payload_keys_per_version(
    official_py: Callable[[str], NodeDriver], driver_worker: Any, engine: ScriptedEngine, version: str
) -> None:
    await driver_worker(official_py(version), engine.url, uid("keys"))
    register = await engine.wait_for(lambda r: register_call(r.frame), what="engine::workers::register")

    data = register.frame["data"]
    assert register.frame["action"] == {"type": "void"}
    assert {"namespace", "features"} & set(data) == REGISTER_KEYS[version], data
    if "namespace" in data:
        assert data["namespace"] is None  # unset: null, never "default" (spec D3: accept null)


@pytest.mark.parametrize("version", MATRIX)
async def test_handshake_carries_the_configured_headers(
    official_py: Callable[[str], NodeDriver], driver_worker: Any, engine: ScriptedEngine, version: str
) -> None:
    """``InitOptions.headers`` reach the auth function of an RBAC listener (``headers``)."""
    await driver_worker(official_py(version), engine.url, uid("hdr"),
                        headers={"Authorization": "Bearer t-1", "X-Team": "a"})

    assert engine.headers[0]["authorization"] == "Bearer t-1"
    assert engine.headers[0]["x-team"] == "a"


@pytest.mark.parametrize("namespace", ["orders", None])
async def test_register_payload_of_025_carries_namespace_and_features(
    sdk: NodeDriver, driver_worker: Any, engine: ScriptedEngine, namespace: str | None
) -> None:
    name = uid("ns-worker")
    await driver_worker(sdk, engine.url, name, namespace=namespace)
    data = (await engine.wait_for(lambda r: register_call(r.frame))).frame["data"]

    assert data["name"] == name
    assert data["runtime"] == "python" and data["version"] == SDK
    assert data["namespace"] == namespace
    assert data["features"] == ["observe.v1", "local-dispatch.v1", "large-messages.v1"]


async def test_reconnect_replays_registrations_before_register(
    sdk: NodeDriver, driver_worker: Any, engine: ScriptedEngine
) -> None:
    """On a new connection the SDK sends ``reattach`` first, then every registration, then
    ``engine::workers::register``: the engine must hold the registrations until it knows the
    namespace (spec §1.2, observed order)."""
    w: DriverWorker = await driver_worker(sdk, engine.url, uid("replay"), namespace="orders")
    await w.register_function("svc::f", "echo")
    await w.register_trigger("cron", "svc::f", {"expression": "0 * * * * *"})
    await engine.wait_frame("registertrigger", connection=0)

    await engine.close(0)
    await engine.wait_connections(2)
    await engine.wait_for(lambda r: r.connection == 1 and register_call(r.frame), what="register on reconnect")

    order = [f["type"] if not register_call(f) else "register" for f in engine.frames(connection=1)]
    assert order[0] == "reattach"
    assert engine.frames("reattach", 1)[0]["previous_worker_id"] == engine.worker_ids[0]
    assert order.index("registerfunction") < order.index("register")
    assert order.index("registertrigger") < order.index("register")
    trigger = engine.frames("registertrigger", 1)[0]
    assert trigger["namespace"] == "orders"  # the SDK fills the worker's namespace (spec §1.4)
    assert "trigger_namespace" not in trigger


# ----------------------------------------------------------------------------- features (§2.3)


async def test_without_engine_features_observe_is_unsupported_and_sends_nothing(
    sdk: NodeDriver, driver_worker: Any, engine: ScriptedEngine
) -> None:
    w: DriverWorker = await driver_worker(sdk, engine.url, uid("nofeat"))
    await w.register_function("svc::src", "echo")
    await w.register_function("svc::sink", "record")

    handle = await w.observe({"function_id": "svc::src"}, "svc::sink")
    settled = await w.observer_ready(handle, 2)

    assert settled["state"] == "error"
    assert settled["reason"]["code"] == "UNSUPPORTED"
    # Registrations still go out; nothing of the observe family does.
    await engine.wait_frame("registerfunction", id="svc::sink")
    await stays(lambda: not {f.get("type") for f in engine.frames()} & OBSERVE_FAMILY, 0.5,
                what="no observe-family frame")
    # A self-call is routed through the engine: no functionregistered, no local dispatch.
    await w.trigger("svc::src", {"n": 1})
    await engine.wait_frame("invokefunction", function_id="svc::src")


async def test_with_engine_features_observe_frame_and_observeresult(
    sdk: NodeDriver, driver_worker: Any, engine_025: ScriptedEngine
) -> None:
    w: DriverWorker = await driver_worker(sdk, engine_025.url, uid("feat"), namespace="orders")
    handle = await w.observe({"function_id": "orders::create", "filters": {"input.amount": {"$gte": 500}}},
                             "alerts::notify", {"id": "obs-1", "max_fires": 3})
    sent = await engine_025.wait_frame("observe", id="obs-1")

    assert sent["source"] == {"function_id": "orders::create", "namespace": "orders",
                              "filters": {"input.amount": {"$gte": 500}}}
    assert sent["target"] == {"function_id": "alerts::notify", "namespace": "orders"}
    assert sent["max_fires"] == 3

    await engine_025.push({"type": "observeresult", "id": "obs-1", "state": "active"})
    assert (await w.observer_ready(handle, 5))["state"] == "active"


# ----------------------------------------------------------------------------- local dispatch (§3)


async def test_functionregistered_with_local_dispatch_keeps_self_calls_local(
    sdk: NodeDriver, driver_worker: Any, engine_025: ScriptedEngine
) -> None:
    w: DriverWorker = await driver_worker(sdk, engine_025.url, uid("local"), namespace="orders")
    await w.register_function("svc::self", "echo")
    await engine_025.wait_frame("registerfunction", id="svc::self")

    assert await w.trigger("svc::self", {"n": 1}) is None  # unconfirmed: through the "engine"

    await engine_025.push({"type": "functionregistered", "id": "svc::self", "namespace": "orders",
                           "revision": 0, "local_dispatch": True, "observers": []})
    await w.trigger("svc::barrier")  # its answer comes after the ack on the socket: the ack was read
    routed = len(engine_025.frames("invokefunction"))
    result = await w.trigger("svc::self", {"n": 2})

    assert result["runtime"] == f"py-{SDK}" and result["data"] == {"n": 2}
    assert len(engine_025.frames("invokefunction")) == routed


async def test_acks_in_the_resolved_namespace_keep_self_calls_local_across_a_reconnect(
    sdk: NodeDriver, driver_worker: Any
) -> None:
    """Whatever the order of ``registerfunction`` and ``engine::workers::register`` (both happen,
    spec §1.2), acks in the resolved namespace switch local dispatch on (spec §6.8 item 49), and
    self-calls stay local on the next connection."""
    engine = await ScriptedEngine(features=ENGINE_FEATURES, ack_functions=True).start()
    try:
        w: DriverWorker = await driver_worker(sdk, engine.url, uid("acked"), namespace="orders")
        await w.register_function("svc::self", "echo")

        async def local() -> bool:
            return (await w.trigger("svc::self", {})) is not None  # routed calls answer null here

        await eventually(local, 5, what="a local call")
        await engine.close(0)
        await engine.wait_connections(2)
        await engine.wait_for(lambda r: r.connection == 1 and register_call(r.frame), what="register again")
        await engine.wait_frame("registerfunction", connection=1, id="svc::self")
        assert await local()
        assert not [f for f in engine.frames("invokefunction", 1) if f["function_id"] == "svc::self"]
    finally:
        await engine.stop()


async def test_functionregistered_in_another_namespace_disables_local_dispatch(
    sdk: NodeDriver, driver_worker: Any, engine_025: ScriptedEngine
) -> None:
    """The ack's namespace must be the resolved one (spec §3.1: a wrong value silently routes)."""
    w: DriverWorker = await driver_worker(sdk, engine_025.url, uid("wrongns"), namespace="orders")
    await w.register_function("svc::self", "echo")
    await engine_025.wait_frame("registerfunction", id="svc::self")
    await engine_025.push({"type": "functionregistered", "id": "svc::self", "namespace": "default",
                           "revision": 0, "local_dispatch": True, "observers": []})
    await w.trigger("svc::barrier")

    assert await w.trigger("svc::self", {"n": 1}) is None
    await engine_025.wait_frame("invokefunction", function_id="svc::self", namespace="orders")


# ----------------------------------------------------------------------------- rejection (§4)


#: The SDKs that know ``registrationrejected`` (0.23+); 0.22.1 ignores the frame (spec §4.3).
KNOW_REJECTION = [v for v in MATRIX if v != "0.22.1"]


@pytest.mark.parametrize("version", KNOW_REJECTION)
async def test_function_namespace_conflict_keeps_the_connection(
    official_py: Callable[[str], NodeDriver], driver_worker: Any, engine: ScriptedEngine, version: str
) -> None:
    w: DriverWorker = await driver_worker(official_py(version), engine.url, uid("fconflict"), namespace="orders")
    await w.register_function("svc::f", "echo")
    await engine.wait_frame("registerfunction", id="svc::f")

    await engine.push({"type": "registrationrejected", "code": "FUNCTION_NAMESPACE_CONFLICT",
                       "namespace": "orders", "function_id": "svc::f", "owner_worker_id": "other"})

    assert await w.trigger("svc::other", {"x": 1}) is None  # answered after the rejection was read
    assert (await w.connection())["state"] == "connected"
    await stays(lambda: len(engine.connections) == 1 and engine.is_open(0), 0.5, what="the same connection")


@pytest.mark.parametrize("version", KNOW_REJECTION)
async def test_worker_namespace_conflict_is_fatal_and_stops_reconnecting(
    official_py: Callable[[str], NodeDriver], driver_worker: Any, engine: ScriptedEngine, version: str
) -> None:
    w: DriverWorker = await driver_worker(official_py(version), engine.url, "state", namespace="orders")
    await engine.wait_for(lambda r: register_call(r.frame))

    await engine.push({"type": "registrationrejected", "code": "WORKER_NAMESPACE_CONFLICT",
                       "namespace": "orders", "worker_name": "state", "owner_worker_id": "owner-1"})

    async def failed() -> bool:
        return (await w.connection())["state"] == "failed"

    await eventually(failed, 5, what="connection state failed")
    with pytest.raises(NodeError) as info:
        await w.trigger("svc::any", {})
    assert info.value.code == "WORKER_NAMESPACE_CONFLICT"
    # The SDK closes its socket itself and never dials again (reconnect delay here is ≤ 0.5 s).
    await stays(lambda: len(engine.connections) == 1, 2.0, what="no reconnection")


@pytest.mark.parametrize(("close_code", "dials_again"), [(1011, True), (1000, False)])
async def test_022_ignores_the_rejection_and_the_close_code_decides(
    official_py: Callable[[str], NodeDriver], driver_worker: Any, engine: ScriptedEngine,
    close_code: int, dials_again: bool
) -> None:
    """0.22.1 does not know ``registrationrejected`` (spec §4.3), so the close that follows a
    worker conflict decides: after an error close it dials again (and would be rejected again,
    forever: why the D1 policy of spec §0.3 must spare it); after a clean close (1000, and
    likewise the reference's close without a code) its receive loop just ends and the worker
    stays disconnected for good, silently (its ``async for`` over the socket ends without
    ``ConnectionClosed``)."""
    await driver_worker(official_py("0.22.1"), engine.url, "state")
    await engine.wait_for(lambda r: register_call(r.frame))

    await engine.push({"type": "registrationrejected", "code": "WORKER_NAMESPACE_CONFLICT",
                       "namespace": "default", "worker_name": "state", "owner_worker_id": "owner-1"})
    await engine.close(0, close_code)

    if dials_again:
        await engine.wait_connections(2)
        await engine.wait_for(lambda r: r.connection == 1 and register_call(r.frame), what="register again")
    else:
        await stays(lambda: len(engine.connections) == 1, 2.0, what="no reconnection")


# ----------------------------------------------------------------------------- unregistertriggertype (§1.9)


async def test_unregistertriggertype_shape(sdk: NodeDriver, driver_worker: Any, engine: ScriptedEngine) -> None:
    w: DriverWorker = await driver_worker(sdk, engine.url, uid("provider"), namespace="orders")
    await w.register_trigger_type("webhook", "Incoming webhook")
    await w.unregister_trigger_type("webhook", namespace="orders")
    await w.register_trigger_type("tick", "Ticks")
    await w.unregister_trigger_type("tick")

    registered = await engine.wait_frame("registertriggertype", id="webhook")
    assert "namespace" not in registered  # the Python SDK never sets it (spec §1.4)
    assert await engine.wait_frame("unregistertriggertype", id="webhook") == {
        "type": "unregistertriggertype", "id": "webhook", "namespace": "orders"}
    assert await engine.wait_frame("unregistertriggertype", id="tick") == {
        "type": "unregistertriggertype", "id": "tick"}
