"""Spec iii-0.23-0.25 §6.4 (ownership and rejection), items 22–29; rules in §1.3, §1.5 and §4.

A raw client stands in for the rejected side where the statement is the ``registrationrejected``
frame itself (the SDK only logs it); the 0.25.0 SDK shows what a worker makes of it. Decision D2
of docs/compatibility.md (first owner wins for a 0.23+ claimant) is what items 22–23 check: both
claimants here name a namespace.
"""

from __future__ import annotations

import asyncio
import platform
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tests.conformance.conftest import (
    PY_DRIVER,
    Connect,
    DriverWorker,
    NodeDriver,
    NodeError,
    Raw,
    declare,
    function_namespaces,
    rows,
    start_engine,
    uid,
    until_namespaces,
)
from tests.support.engine import EngineProcess
from tests.support.official_sdks import official_sdk_python
from tests.support.severing_proxy import SeveringProxy
from tests.support.waiting import eventually, stays

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("conf-6-4"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def proxy(engine: EngineProcess) -> AsyncIterator[SeveringProxy]:
    forwarder = await SeveringProxy(engine.port).start()
    yield forwarder
    await forwarder.stop()


async def workers_named(caller: DriverWorker, name: str) -> list[dict[str, str]]:
    return [{"id": r["id"], "namespace": r["namespace"]}
            for r in await rows(caller, "engine::workers::list", "workers") if r["name"] == name]


async def state(w: DriverWorker) -> str:
    return str((await w.connection())["state"])


async def test_22_second_owner_of_an_id_is_rejected_and_stays_connected(
    engine: EngineProcess, worker: Connect, raw: Raw
) -> None:
    fid = uid("svc::f")
    alpha = await worker(engine.url, uid("alpha"), namespace="orders")
    await alpha.register_function(fid, "echo")
    await until_namespaces(alpha, fid, ["orders"])
    beta = await raw(engine.url)
    assert (await declare(beta, uid("beta"), namespace="orders"))["result"] == {"success": True}

    await beta.register(fid)

    rejected = await beta.expect("registrationrejected")
    assert rejected == {"type": "registrationrejected", "code": "FUNCTION_NAMESPACE_CONFLICT",
                        "namespace": "orders", "function_id": fid, "owner_worker_id": alpha.worker_id}
    await beta.send({"type": "ping"})
    await beta.expect("pong")
    caller = await worker(engine.url, namespace="orders")
    assert (await caller.trigger(fid, {}))["worker"] == alpha.handle


async def test_23_an_id_is_not_transferred_when_its_owner_leaves(engine: EngineProcess, worker: Connect) -> None:
    fid = uid("svc::f")
    alpha = await worker(engine.url, uid("alpha"), namespace="orders")
    beta = await worker(engine.url, uid("beta"), namespace="orders")
    await alpha.register_function(fid, "echo")
    await until_namespaces(alpha, fid, ["orders"])
    await beta.register_function(fid, "echo")  # rejected
    await beta.register_function(f"{fid}-barrier", "echo")  # sent after it: listed once it was handled
    await until_namespaces(beta, f"{fid}-barrier", ["orders"])

    await alpha.shutdown()

    await until_namespaces(beta, fid, [])
    with pytest.raises(NodeError) as missing:
        await beta.trigger(fid, {})
    assert missing.value.code == "function_not_found"
    assert await state(beta) == "connected"


async def test_24_one_id_in_two_namespaces_lives_independently(engine: EngineProcess, worker: Connect) -> None:
    fid = uid("svc::f")
    in_orders = await worker(engine.url, namespace="orders")
    in_analytics = await worker(engine.url, namespace="analytics")
    await in_orders.register_function(fid, "echo")
    await in_analytics.register_function(fid, "echo")
    await until_namespaces(in_orders, fid, ["analytics", "orders"])

    await in_orders.shutdown()

    await until_namespaces(in_analytics, fid, ["analytics"])
    assert (await in_analytics.trigger(fid, {}))["worker"] == in_analytics.handle


async def test_25_engine_ids_are_reserved_to_default(engine: EngineProcess, worker: Connect, raw: Raw) -> None:
    fid = uid("engine::mine")
    in_orders = await raw(engine.url)
    await declare(in_orders, uid("mine"), namespace="orders")

    await in_orders.register(fid)

    rejected = await in_orders.expect("registrationrejected")
    assert rejected == {"type": "registrationrejected", "code": "FUNCTION_NAMESPACE_CONFLICT",
                        "namespace": "orders", "function_id": fid, "owner_worker_id": ""}
    in_default = await worker(engine.url)
    await in_default.register_function(fid, "echo")
    await until_namespaces(in_default, fid, ["default"])


async def test_26_second_025_worker_with_a_taken_name_is_rejected_for_good(
    engine: EngineProcess, worker: Connect, raw: Raw, proxy: SeveringProxy
) -> None:
    name = uid("state")
    first = await worker(engine.url, name, namespace="orders")

    # The frame and the close, as a raw claimant sees them.
    claimant = await raw(engine.url)
    await claimant.send({"type": "invokefunction", "function_id": "engine::workers::register",
                         "action": {"type": "void"}, "data": {"name": name, "namespace": "orders"}})
    rejected = await claimant.expect("registrationrejected")
    assert rejected == {"type": "registrationrejected", "code": "WORKER_NAMESPACE_CONFLICT",
                        "namespace": "orders", "worker_name": name, "owner_worker_id": first.worker_id}
    await asyncio.wait_for(claimant.ws.wait_closed(), 5)

    # What the 0.25 SDK makes of it: failed, calls raise, no reconnect (counted at the proxy).
    second = await worker(proxy.url, name, namespace="orders")

    async def failed() -> bool:
        return await state(second) == "failed"

    await eventually(failed, 10, what="the second worker to fail")
    await asyncio.wait_for(proxy.links[0].upstream_closed.wait(), 5)  # closed (the raw claimant showed by whom)
    with pytest.raises(NodeError) as refused:
        await second.trigger("engine::functions::list", {})
    assert refused.value.kind == "RegistrationRejectedError"
    assert refused.value.code == "WORKER_NAMESPACE_CONFLICT"
    await stays(lambda: proxy.accepted == 1, 5, 0.1, what="no further connection attempt")
    assert await state(first) == "connected"
    assert await workers_named(first, name) == [{"id": first.worker_id, "namespace": "orders"}]


async def test_27_one_name_in_two_namespaces_coexists(engine: EngineProcess, worker: Connect) -> None:
    name = uid("state")
    in_orders = await worker(engine.url, name, namespace="orders")
    in_analytics = await worker(engine.url, name, namespace="analytics")

    async def both_listed() -> bool:
        listed = await workers_named(in_orders, name)
        return sorted(listed, key=lambda r: r["namespace"]) == [
            {"id": in_analytics.worker_id, "namespace": "analytics"},
            {"id": in_orders.worker_id, "namespace": "orders"}]

    await eventually(both_listed, 10, what="both workers listed")
    assert await state(in_orders) == await state(in_analytics) == "connected"


async def test_28_restarted_and_reattached_workers_keep_their_name(
    engine: EngineProcess, worker: Connect, proxy: SeveringProxy, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A process killed and started again at once, with the same name.
    name = uid("restarted")
    python = official_sdk_python("0.25.0")
    doomed = NodeDriver(tmp_path_factory.mktemp("doomed") / "driver.log", [str(python), str(PY_DRIVER)],
                        cwd=PY_DRIVER.parent)
    try:
        old = await worker(engine.url, name, namespace="orders", driver=doomed)
        doomed.kill()
        again = await worker(engine.url, name, namespace="orders")
        await eventually(lambda: workers_named(again, name), 10, what="the restarted worker listed")
        assert await workers_named(again, name) == [{"id": again.worker_id, "namespace": "orders"}]
        assert old.worker_id != again.worker_id
        assert await state(again) == "connected"
    finally:
        doomed.close()

    # A socket dropped under the worker while the engine still holds it open: the SDK
    # reconnects and sends ``reattach``, which retires the old connection before the name is
    # claimed again (without it, the claim would meet a live owner and be rejected).
    name = uid("reattached")
    fid = uid("svc::kept")
    dropped = await worker(proxy.url, name, namespace="orders")
    await dropped.register_function(fid, "echo")
    await until_namespaces(dropped, fid, ["orders"])
    before = dropped.worker_id

    [link] = proxy.sever_clients()

    async def reconnected() -> bool:
        now = await dropped.connection()
        return now["state"] == "connected" and now["worker_id"] not in (None, before)

    await eventually(reconnected, 10, what="the SDK to reconnect")
    await asyncio.wait_for(link.upstream_closed.wait(), 10)  # the engine retired the old connection
    after = (await dropped.connection())["worker_id"]
    observer = await worker(engine.url)

    async def only_the_new_one() -> bool:
        return await workers_named(observer, name) == [{"id": after, "namespace": "orders"}]

    await eventually(only_the_new_one, 10, what="only the reattached connection listed")
    assert await function_namespaces(observer, fid) == ["orders"]
    assert (await observer.trigger(fid, {}, namespace="orders"))["worker"] == dropped.handle


async def test_29_two_0221_clients_with_the_default_name_both_stay(
    engine: EngineProcess, official_py: Callable[[str], NodeDriver]
) -> None:
    driver = official_py("0.22.1")
    default_name = f"{platform.node()}:{driver.proc.pid}"  # what the SDK names a worker by default
    clients = [DriverWorker(driver, uid("w"), None) for _ in range(2)]  # type: ignore[arg-type]
    try:
        for c in clients:
            await c.connect(engine.url)
        ids = sorted(str(c.worker_id) for c in clients)

        async def both_listed() -> bool:
            listed = await workers_named(clients[0], default_name)
            return sorted(r["id"] for r in listed) == ids

        await eventually(both_listed, 10, what="both default-named clients listed")
        await stays(both_listed, 1.0, what="both clients connected")
    finally:
        for c in clients:
            await c.shutdown()
