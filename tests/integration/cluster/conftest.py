"""Three real engine processes sharing one Redis: the cluster every test here runs against."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import EngineProcess, free_port
from tests.support.official_sdk import official_workers, shut
from tests.support.servers import REDIS_URL
from tests.support.servers import require_redis as require_server_redis
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")

#: Fast heartbeat so that joins, leaves and deaths are seen within about a second.
HEARTBEAT_MS, TTL_MS = 200, 1_500


@dataclass
class Node:
    name: str
    proc: EngineProcess
    http_port: int
    stream_port: int

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass
class Cluster:
    prefix: str
    nodes: list[Node] = field(default_factory=list)

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    def urls(self, *indexes: int) -> str:
        return ",".join(self.nodes[i].url for i in indexes)


def node_workers(prefix: str, http_port: int, stream_port: int) -> list[dict[str, Any]]:
    redis = {"redis_url": REDIS_URL}
    kv = {"name": "redis", "config": redis}
    return [
        {"name": "iii-state", "config": {"adapter": kv}},
        {"name": "iii-stream", "config": {"adapter": kv, "port": stream_port, "host": "127.0.0.1"}},
        {"name": "iii-queue", "config": {"adapter": {"name": "redis", "config": {
            **redis, "key_prefix": f"{prefix}:queue", "block_ms": 500}}, "lease_ms": 3000}},
        {"name": "iii-pubsub", "config": {"adapter": {"name": "redis", "config": redis}}},
        {"name": "iii-cron", "config": {"adapter": {"name": "redis", "config": {
            **redis, "key_prefix": f"{prefix}:cron"}}}},
        {"name": "iii-http", "config": {"port": http_port, "host": "127.0.0.1"}},
        {"name": "iii-cluster", "config": {**redis, "key_prefix": f"{prefix}:cluster",
                                           "heartbeat_ms": HEARTBEAT_MS, "ttl_ms": TTL_MS}},
    ]


def start_node(workdir: Path, prefix: str, name: str) -> Node:
    http_port, stream_port = free_port(), free_port()
    proc = EngineProcess(workdir, workers=node_workers(prefix, http_port, stream_port)).start()
    node = Node(name, proc, http_port, stream_port)
    eventually_sync(lambda: get(f"{node.url.replace('ws', 'http', 1)}/readyz")[0] == 200, 15, what=f"{name} ready")
    return node


def require_redis() -> None:
    require_server_redis("the cluster tests")


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[[int], Cluster]]:
    """``make_cluster(n)`` -> n engines on one Redis with a key prefix of their own."""
    require_redis()
    clusters: list[Cluster] = []

    def make(n: int = 3) -> Cluster:
        cluster = Cluster(f"iii:test:{uuid.uuid4().hex[:8]}")
        for i in range(n):
            name = "abcdefgh"[i]
            workdir = tmp_path / f"{name}{len(clusters)}"
            workdir.mkdir()
            cluster.nodes.append(start_node(workdir, cluster.prefix, name))
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        for node in cluster.nodes:
            node.proc.kill()


@pytest.fixture(scope="module")
def cluster3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One three-engine cluster shared by a module's tests (which use unique names)."""
    require_redis()
    cluster = Cluster(f"iii:test:{uuid.uuid4().hex[:8]}")
    try:
        for name in "abc":
            cluster.nodes.append(start_node(tmp_path_factory.mktemp(name), cluster.prefix, name))
        yield cluster
    finally:
        for node in cluster.nodes:
            node.proc.stop()


@pytest.fixture
def sdk() -> Iterator[Callable[..., Any]]:
    """``sdk(url, name)`` -> a connected official-SDK worker, shut down after the test."""
    with official_workers("cluster-test") as connect:
        yield connect


@pytest.fixture
def pysdk() -> Iterator[Callable[..., Any]]:
    """``pysdk("ws://a,ws://b", name)`` -> a pyiii.sdk worker that fails over between engines."""
    from pyiii.sdk import InitOptions, ReconnectionConfig, register_worker

    workers: list[Any] = []

    def connect(urls: str, name: str = "cluster-failover") -> Any:
        options = InitOptions(worker_name=name, reconnection_config=ReconnectionConfig(
            initial_delay_ms=100, max_delay_ms=1000))
        worker = register_worker(urls, options)
        workers.append(worker)
        return worker

    yield connect
    for worker in workers:
        shut(worker)


def call(worker: Any, function_id: str, payload: Any, timeout_ms: int = 10_000) -> Any:
    return worker.trigger({"function_id": function_id, "payload": payload, "timeout_ms": timeout_ms})


def callable_from(worker: Any, function_id: str, payload: Any = None, timeout: float = 10.0) -> Any:
    """Wait until ``function_id`` answers through ``worker`` (proxies appear within a heartbeat)."""
    outcome: list[Any] = []

    def attempt() -> bool:
        try:
            outcome[:] = [call(worker, function_id, payload, 2_000)]
            return True
        except Exception:
            return False

    eventually_sync(attempt, timeout, what=f"{function_id} callable")
    return outcome[0]


def get(url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                     headers={"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    except OSError:
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")
