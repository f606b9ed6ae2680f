"""Engines of one cluster share namespaces (iii 0.23): a function served in ``orders`` on engine a
is callable in ``orders`` from engine b — and only there — and an HTTP route bound by an
``orders`` worker runs the ``orders`` copy on every engine's port. pyiii.sdk workers (namespaced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pyiii import InitOptions, register_worker
from pyiii.sdk import InvocationError
from tests.integration.cluster.conftest import Cluster
from tests.integration.state.kvsupport import unique
from tests.support.waiting import eventually_sync


@pytest.fixture
def ns_worker() -> Iterator[Callable[..., Any]]:
    workers: list[Any] = []

    def connect(url: str, name: str, namespace: str | None = None) -> Any:
        worker = register_worker(url, InitOptions(worker_name=name, namespace=namespace))
        workers.append(worker)
        return worker

    yield connect
    for worker in workers:
        worker.shutdown()


def _answer(worker: Any, function_id: str, namespace: str | None = None) -> Any:
    request: dict[str, Any] = {"function_id": function_id, "payload": {}, "timeout_ms": 2_000}
    if namespace is not None:
        request["namespace"] = namespace
    try:
        return worker.trigger(request)
    except InvocationError as exc:
        return f"error:{exc.code}"


def test_a_namespaced_function_is_proxied_in_its_namespace_only(cluster3: Cluster, ns_worker: Any) -> None:
    a, b, _ = cluster3.nodes
    fid = unique("svc::who")
    owner = ns_worker(a.url, unique("orders-owner"), "orders")
    owner.register_function(fid, lambda _d: "orders copy on a")
    caller = ns_worker(b.url, unique("orders-caller"), "orders")
    plain = ns_worker(b.url, unique("default-caller"))

    assert eventually_sync(lambda: _answer(caller, fid) == "orders copy on a" and _answer(caller, fid), 10,
                           what="the orders copy callable from b") == "orders copy on a"
    assert _answer(plain, fid) == "error:function_not_found"  # not in default
    assert _answer(plain, fid, "orders") == "orders copy on a"  # named explicitly

    # the same id served in default on c: each namespace reaches its own copy from b
    c = cluster3.nodes[2]
    default_owner = ns_worker(c.url, unique("default-owner"))
    default_owner.register_function(fid, lambda _d: "default copy on c")
    eventually_sync(lambda: _answer(plain, fid) == "default copy on c", 10, what="the default copy from b")
    assert _answer(caller, fid) == "orders copy on a"

    owner.shutdown()
    eventually_sync(lambda: _answer(caller, fid) == "error:function_not_found", 10,
                    what="the orders proxy gone with its owner")
    assert _answer(plain, fid) == "default copy on c"


def test_an_http_route_of_an_orders_worker_runs_its_copy_on_every_engine(cluster3: Cluster, ns_worker: Any) -> None:
    a, b, c = cluster3.nodes
    fid = unique("api::hello")
    path = f"/{unique('ns-route')}"
    owner = ns_worker(a.url, unique("orders-http"), "orders")
    owner.register_function(fid, lambda _req: {"status_code": 200, "body": {"from": "orders"}})
    owner.register_trigger({"type": "http", "function_id": fid, "config": {"api_path": path, "http_method": "GET"}})

    def served(node: Any) -> Any:
        response = httpx.get(node.http + path, timeout=5)
        return response.json() if response.status_code == 200 else None

    for node in (a, b, c):
        assert eventually_sync(lambda n=node: served(n), 10, what=f"{path} on {node.name}") == {"from": "orders"}
