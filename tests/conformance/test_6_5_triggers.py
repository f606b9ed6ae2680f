"""Spec iii-0.23-0.25 §6.5, items 30–37: triggers and their providers across namespaces.

One real pyiii engine for the module (http, cron, and an RBAC listener that exposes only
``open::*``), driven by the official ``iii-sdk`` 0.25.0 (``tests/interop/py_driver.py``) and, where
the statement is an exact frame or something no SDK sends, by raw protocol clients
(``tests/support/wire.py``). Ids, type ids and worker names are unique per test (``uid``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.interop.conftest import (  # noqa: F401 - fixtures, shared with the interop harness
    DriverWorker,
    NodeDriver,
    driver_worker,
    official_py,
    uid,
    until_registered,
)
from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.waiting import eventually, stays
from tests.support.wire import RawWorker

pytestmark = pytest.mark.interop

SDK = "0.25.0"
Connect = Callable[..., Awaitable[DriverWorker]]


class Engine:
    def __init__(self, proc: EngineProcess, http_port: int, rbac_port: int) -> None:
        self.proc, self.http_port, self.rbac_port = proc, http_port, rbac_port

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def rbac_url(self) -> str:
        return f"ws://127.0.0.1:{self.rbac_port}"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    http_port, rbac_port = free_port(), free_port()
    proc = EngineProcess(tmp_path_factory.mktemp("conformance-6-5"), workers=[
        {"name": "iii-worker-manager", "config": {"port": rbac_port, "host": "127.0.0.1",
                                                   "rbac": {"expose_functions": ['match("open::*")']}}},
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        {"name": "iii-cron", "config": {}},
    ]).start()
    try:
        wait_port(http_port)
        yield Engine(proc, http_port, rbac_port)
    finally:
        proc.stop()


@pytest.fixture
def connect(official_py: Callable[[str], NodeDriver], driver_worker: Any) -> Connect:  # noqa: F811
    """``await connect(url, namespace=None)``: an iii-sdk 0.25.0 worker."""

    async def make(url: str, **options: Any) -> DriverWorker:
        return await driver_worker(official_py(SDK), url, uid("w-6-5"), **options)  # type: ignore[no-any-return]

    return make


@pytest.fixture
async def raw() -> Any:
    """``await raw(url, namespace=None)``: a raw client, its namespace declared when given."""
    made: list[RawWorker] = []

    async def make(url: str, namespace: str | None = None) -> RawWorker:
        client = await RawWorker.connect(url)
        made.append(client)
        if namespace is not None:
            answer = await client.call("engine::workers::register", {"name": uid("raw"), "namespace": namespace})
            assert answer.get("error") is None, answer
        return client

    yield make
    for client in made:
        await client.close()


async def type_rows(caller: DriverWorker | RawWorker, type_id: str) -> list[dict[str, Any]]:
    if isinstance(caller, RawWorker):
        listing = (await caller.call("engine::triggers::list", {}))["result"]
    else:
        listing = await caller.trigger("engine::triggers::list", {})
    return [row for row in listing["triggers"] if row["id"] == type_id]


async def until_provided(caller: DriverWorker | RawWorker, type_id: str, namespace: str) -> None:
    """Trigger types have no ack: wait until the engine lists ``(namespace, type_id)``."""

    async def listed() -> bool:
        return any(r["namespace"] == namespace for r in await type_rows(caller, type_id))

    await eventually(listed, 10, 0.05, what=f"trigger type {type_id} in {namespace}")


async def provider_event(provider: DriverWorker, event: str, function_id: str = "", **match: Any) -> dict[str, Any]:
    """The trigger config the provider's handler got in ``register_trigger`` (matched by
    ``function_id``) or ``unregister_trigger`` (which carries the id only: match ``id=``)."""
    if function_id:
        match["function_id"] = function_id
    found = await provider.driver.wait_event(
        lambda e: e.get("event") == event and e.get("w") == provider.handle
        and all(e["trigger"].get(k) == v for k, v in match.items())
    )
    return found["trigger"]  # type: ignore[no-any-return]


def events_of(provider: DriverWorker, event: str) -> list[dict[str, Any]]:
    seen = list(provider.driver.events)  # a copy: the driver's reader thread appends to it
    return [e["trigger"] for e in seen if e.get("event") == event and e.get("w") == provider.handle]


async def test_30_an_http_route_runs_the_function_of_its_namespace(engine: Engine, connect: Connect) -> None:
    fid, path = uid("svc::h"), f"/{uid('route-30')}"
    in_orders = await connect(engine.url, namespace="orders")
    in_default = await connect(engine.url)
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


async def test_31_a_cron_trigger_from_orders_fires_an_engine_function_in_default(
    engine: Engine, connect: Connect
) -> None:
    in_orders = await connect(engine.url, namespace="orders")
    await in_orders.register_trigger(
        "cron", "engine::workers::list", {"expression": "* * * * * *"}, namespace="default"
    )

    async def ran_ok() -> dict[str, Any] | None:
        jobs = (await in_orders.trigger("engine::cron::list_jobs", {}))["jobs"]
        mine = [j for j in jobs if j["function_id"] == "engine::workers::list" and j["last_run"]]
        done = [j for j in mine if j["last_run"]["status"] != "running"]
        return done[0] if done else None

    job = await eventually(ran_ok, 10, 0.1, what="a finished cron tick")
    assert job["last_run"]["status"] == "ok", job  # resolved in default, not in orders (function_not_found)


async def test_32_the_provider_frame_names_both_namespaces_only_outside_default(
    engine: Engine, connect: Connect, raw: Any
) -> None:
    webhook = uid("webhook")
    provider = await raw(engine.url, "orders")
    await provider.send({"type": "registertriggertype", "id": webhook, "description": "orders hooks"})
    await until_provided(provider, webhook, "orders")
    [row] = await type_rows(provider, webhook)
    assert row["namespace"] == "orders"

    binder = await connect(engine.url, namespace="orders")
    fid = uid("orders::on_hook")
    await binder.register_trigger(webhook, fid, {"path": "/h"})
    frame = await provider.expect("registertrigger", timeout=10, function_id=fid)
    assert frame["trigger_type"] == webhook and frame["config"] == {"path": "/h"}
    assert frame["namespace"] == "orders" and frame["trigger_namespace"] == "orders"
    info = (await provider.call("engine::triggers::info", {"id": webhook, "namespace": "orders"}))["result"]
    assert info["namespace"] == "orders" and info["instance_count"] == 1
    strict = await provider.call("engine::triggers::info", {"id": webhook})  # absent: default, strict
    assert strict["error"]["code"] == "NOT_FOUND"

    # In default, both keys are absent: what a 0.22.1 provider has always read.
    default_type = uid("webhook")
    default_provider = await raw(engine.url, "default")
    await default_provider.send({"type": "registertriggertype", "id": default_type})
    await until_provided(default_provider, default_type, "default")
    in_default = await connect(engine.url)
    await in_default.register_trigger(default_type, fid, {"path": "/d"})
    frame = await default_provider.expect("registertrigger", timeout=10, function_id=fid)
    assert "namespace" not in frame and "trigger_namespace" not in frame


async def rehoming_scenario(engine: Engine, connect: Connect, **binding: Any) -> tuple[Any, ...]:
    """A ``default`` provider of a fresh type serves an ``orders`` worker's binding; then an
    ``orders`` provider of the type registers. Returns both providers, the bound id, the type
    and the binder."""
    webhook = uid("webhook")
    fallback = await connect(engine.url)
    await fallback.register_trigger_type(webhook, "default hooks")
    await until_provided(fallback, webhook, "default")
    binder = await connect(engine.url, namespace="orders")
    fid = uid("orders::on_hook")
    await binder.register_trigger(webhook, fid, {"path": "/h"}, **binding)
    served = await provider_event(fallback, "register_trigger", fid)

    home = await connect(engine.url, namespace="orders")
    await home.register_trigger_type(webhook, "orders hooks")
    await until_provided(home, webhook, "orders")
    return fallback, home, served, webhook, binder


async def test_33_a_fallback_binding_moves_to_the_provider_of_its_namespace(engine: Engine, connect: Connect) -> None:
    fallback, home, served, _webhook, _binder = await rehoming_scenario(engine, connect)

    moved = await provider_event(home, "register_trigger", served["function_id"])
    gone = await provider_event(fallback, "unregister_trigger", id=served["id"])
    assert moved["id"] == served["id"] == gone["id"]
    assert moved["config"] == {"path": "/h"}


async def test_34_an_explicit_default_trigger_namespace_is_not_moved(engine: Engine, connect: Connect) -> None:
    fallback, home, served, webhook, binder = await rehoming_scenario(engine, connect, trigger_namespace="default")

    # A later binding without trigger_namespace reaches the orders provider: it is in place, and
    # re-homing (which runs when it registers) had its chance.
    later = uid("orders::later")
    await binder.register_trigger(webhook, later, {"path": "/later"})
    await provider_event(home, "register_trigger", later)
    await stays(lambda: not events_of(fallback, "unregister_trigger"), 0.5, what="no unregistertrigger at default")
    assert [t["function_id"] for t in events_of(home, "register_trigger")] == [later]
    assert served["id"] not in {t["id"] for t in events_of(home, "register_trigger")}


async def test_35_a_blank_trigger_namespace_is_refused(engine: Engine, raw: Any) -> None:
    client = await raw(engine.url, "orders")
    trigger_id = uid("t-35")
    await client.send({"type": "registertrigger", "id": trigger_id, "trigger_type": "cron",
                       "function_id": "engine::workers::list", "config": {"expression": "* * * * * *"},
                       "trigger_namespace": " "})
    answer = await client.expect("triggerregistrationresult", timeout=10, id=trigger_id)
    assert answer["error"]["code"] == "INVALID_NAMESPACE"
    assert "`trigger_namespace` is empty" in answer["error"]["message"]


async def test_36_an_rbac_session_may_not_bind_a_function_it_may_not_call(engine: Engine, raw: Any) -> None:
    session = await raw(engine.rbac_url, "default")
    trigger_id = uid("t-36")
    await session.send({"type": "registertrigger", "id": trigger_id, "trigger_type": "cron",
                        "function_id": "engine::workers::list", "config": {"expression": "* * * * * *"}})
    answer = await session.expect("triggerregistrationresult", timeout=10, id=trigger_id)
    assert answer["error"]["code"] == "FORBIDDEN"
    assert "function 'engine::workers::list' not allowed in namespace 'default'" in answer["error"]["message"]
    # An exposed target is bound (the refusal above was about the target, not the frame).
    allowed = uid("t-36-open")
    await session.send({"type": "registertrigger", "id": allowed, "trigger_type": "cron",
                        "function_id": "open::tick", "config": {"expression": "0 0 0 1 1 *"}})
    await stays(lambda: session.inbox.empty(), 0.3, what="no refusal of the exposed target")


async def test_37_unregistertriggertype_parks_the_bindings_until_a_provider_returns(
    engine: Engine, connect: Connect
) -> None:
    webhook = uid("webhook")
    provider = await connect(engine.url, namespace="orders")
    await provider.register_trigger_type(webhook, "orders hooks")
    await until_provided(provider, webhook, "orders")
    binder = await connect(engine.url, namespace="orders")
    fid = uid("orders::on_hook")
    await binder.register_trigger(webhook, fid, {"path": "/h"})
    first = await provider_event(provider, "register_trigger", fid)

    await provider.unregister_trigger_type(webhook, namespace="orders")

    async def withdrawn() -> bool:
        return await type_rows(provider, webhook) == []

    await eventually(withdrawn, 10, 0.05, what="the provider withdrawn")
    rows = (await binder.trigger("engine::registered-triggers::list", {"trigger_type": webhook}))
    assert rows["registered_triggers"] == []  # parked: no provider serves it

    successor = await connect(engine.url, namespace="orders")
    await successor.register_trigger_type(webhook, "orders hooks again")
    again = await provider_event(successor, "register_trigger", fid)
    assert again["id"] == first["id"] and again["config"] == {"path": "/h"}
