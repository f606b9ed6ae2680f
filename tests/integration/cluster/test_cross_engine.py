"""Three engines on one Redis: calls, HTTP, streams, queues, cron and health across engines."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

from tests.integration.cluster.conftest import Cluster, call, callable_from, get, shut
from tests.integration.queue.conftest import trigger_ready
from tests.integration.state.kvsupport import unique
from tests.integration.stream.wsclient import StreamClient
from tests.support.waiting import eventually_sync, stays_sync


def test_a_function_on_engine_a_is_callable_from_workers_on_b_and_c(cluster3: Cluster, sdk: Any) -> None:
    a, b, c = cluster3.nodes
    fid = unique("math.double")
    owner = sdk(a.url, "owner-on-a")
    owner.register_function(fid, lambda data: {"double": data["n"] * 2})
    on_b, on_c = sdk(b.url), sdk(c.url)
    assert callable_from(on_b, fid, {"n": 21}) == {"double": 42}
    assert callable_from(on_c, fid, {"n": 5}) == {"double": 10}

    def boom(_data: Any) -> None:
        raise ValueError("bad input")

    failing = unique("math.fail")
    owner.register_function(failing, boom)
    eventually_sync(lambda: failing in _function_ids(on_b), 5, what="proxy of the failing function")
    with pytest.raises(Exception, match="bad input"):
        call(on_b, failing, {})


def test_a_local_registration_wins_over_the_proxy_and_the_proxy_goes_with_its_owner(
        cluster3: Cluster, sdk: Any) -> None:
    a, b, _ = cluster3.nodes
    fid = unique("who")
    owner = sdk(a.url, "owner-on-a")
    owner.register_function(fid, lambda _d: "a")
    on_b = sdk(b.url, "caller-on-b")
    assert callable_from(on_b, fid) == "a"
    local = sdk(b.url, "local-on-b")
    local.register_function(fid, lambda _d: "b")
    eventually_sync(lambda: call(on_b, fid, None) == "b", 5, what="the local registration to win")
    # The proxy must not come back over the local function: the cluster view is refreshed every
    # heartbeat (HEARTBEAT_MS = 200), so 0.5 s spans two of them.
    stays_sync(lambda: call(on_b, fid, None) == "b", 0.5, what="the local registration to keep winning")
    shut(local)
    eventually_sync(lambda: _try(on_b, fid) == "a", 5, what="the proxy to return once the local worker left")
    shut(owner)
    eventually_sync(lambda: fid not in _function_ids(on_b), 5, what="the proxy to go with its owner")
    with pytest.raises(Exception, match=r"function_not_found|not found"):
        call(on_b, fid, None)


def test_http_route_registered_on_a_is_served_by_every_engine(cluster3: Cluster, sdk: Any) -> None:
    path = unique("orders")
    fid = unique("http.orders")
    owner = sdk(cluster3[0].url, "http-owner")

    def handler(req: dict[str, Any]) -> dict[str, Any]:
        return {"status_code": 201, "body": {"id": req["path_params"]["id"], "got": req["body"]}}

    owner.register_function(fid, handler)
    owner.register_trigger({"type": "http", "function_id": fid,
                            "config": {"api_path": f"{path}/:id", "http_method": "POST"}})
    for node in cluster3.nodes:
        eventually_sync(lambda n=node: get(f"{n.http}/{path}/7", {"x": 1})[0] == 201, 10, what=f"route on {node.name}")
        assert get(f"{node.http}/{path}/9", {"x": node.name}) == (201, {"id": "9", "got": {"x": node.name}})
    shut(owner)
    for node in cluster3.nodes:
        eventually_sync(lambda n=node: get(f"{n.http}/{path}/7", {"x": 1})[0] == 404, 10,
                        what=f"route gone on {node.name}")


async def test_stream_write_on_one_engine_reaches_clients_on_all(cluster3: Cluster, sdk: Any) -> None:
    name = unique("chat")
    clients = [await StreamClient.open(n.stream_port) for n in cluster3.nodes]
    try:
        for i, client in enumerate(clients):
            await client.join(f"s{i}", name, "room")
            assert (await client.next())["event"] == {"type": "sync", "data": []}
        writer = await asyncio.to_thread(sdk, cluster3[1].url)
        await asyncio.to_thread(call, writer, "stream::set",
                                {"stream_name": name, "group_id": "room", "item_id": "m1", "data": {"t": "hi"}})
        for client in clients:
            event = await client.next()
            assert event["id"] == "m1" and event["event"] == {"type": "create", "data": {"t": "hi"}}
    finally:
        for client in clients:
            await client.close()


def test_each_queue_message_is_handled_once_per_subscriber_across_engines(cluster3: Cluster, sdk: Any) -> None:
    topic = unique("orders.created")
    seen: dict[str, Counter[int]] = {"billing": Counter(), "mail": Counter()}
    lock = threading.Lock()

    def handler(kind: str) -> Any:
        def run(data: dict[str, Any]) -> None:
            with lock:
                seen[kind][data["n"]] += 1
        return run

    billing_fn, mail_fn = unique("billing"), unique("mail")
    # billing runs on workers connected to A and to B (competing consumers of one subscription),
    # mail on a worker connected to C; publishers on every engine.
    for node, fid, kind in ((cluster3[0], billing_fn, "billing"), (cluster3[1], billing_fn, "billing"),
                            (cluster3[2], mail_fn, "mail")):
        worker = sdk(node.url, f"{kind}-{node.name}")
        worker.register_function(fid, handler(kind))
        worker.register_trigger({"type": "durable:subscriber", "function_id": fid, "config": {"topic": topic}})
        trigger_ready(worker, fid)
    publishers = [sdk(n.url, f"pub-{n.name}") for n in cluster3.nodes]
    total = 300
    for n in range(total):
        call(publishers[n % 3], "iii::durable::publish", {"topic": topic, "data": {"n": n}})
    eventually_sync(lambda: len(seen["billing"]) == total and len(seen["mail"]) == total, 30,
                    what="every message handled")
    # No late duplicate: a competing consumer's copy is delivered alongside the original, so 0.5 s
    # after the last of the 300 was handled is a wide margin.
    stays_sync(lambda: all(max(seen[kind].values()) == 1 for kind in seen), 0.5, what="each message handled once")
    for kind in seen:
        assert set(seen[kind]) == set(range(total))
        assert max(seen[kind].values()) == 1, f"{kind} handled a message twice without any failure"


def test_cron_ticks_once_per_second_with_subscribers_on_three_engines(cluster3: Cluster, sdk: Any) -> None:
    fid = unique("cron.tick")
    ticks: list[str] = []
    lock = threading.Lock()

    def tick(data: dict[str, Any]) -> None:
        with lock:
            ticks.append(data["scheduled_time"])

    for node in cluster3.nodes:  # the same app, deployed next to every engine
        worker = sdk(node.url, f"cron-{node.name}")
        worker.register_function(fid, tick)
        worker.register_trigger({"type": "cron", "function_id": fid, "config": {"expression": "* * * * * *"}})
    eventually_sync(lambda: len(set(ticks)) >= 4, 10, what="four ticks")
    with lock:
        counts = Counter(ticks)
    assert max(counts.values()) == 1, f"a tick fired more than once: {counts}"


def test_health_and_readiness_endpoints(cluster3: Cluster) -> None:
    for node in cluster3.nodes:
        base = node.url.replace("ws", "http", 1)
        assert get(f"{base}/healthz") == (200, {"status": "ok", "stopping": False})
        status, body = get(f"{base}/readyz")
        assert status == 200 and body["status"] == "ready"
        # The cluster link and every Redis-backed adapter (state, stream, queue, pubsub) hold.
        assert body["checks"]["iii-cluster"] is True and all(body["checks"].values())
        assert all(a["ok"] and a["error"] is None for a in body["adapters"].values())


def _function_ids(worker: Any) -> set[str]:
    rows = call(worker, "engine::functions::list", {})
    return {f.get("function_id", f.get("id")) for f in rows["functions"]}


def _try(worker: Any, fid: str) -> Any:
    try:
        return call(worker, fid, None, 2_000)
    except Exception as exc:
        return exc
