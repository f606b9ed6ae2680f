"""``iii-cluster`` config (docs/deployment.md; README.md next to this file)."""

from __future__ import annotations

import msgspec

from pyiii.adapters.redis_settings import check_redis_settings


class ClusterConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    redis_url: str = "redis://localhost:6379"
    #: Every key and channel starts with this; engines that should see each other share it.
    key_prefix: str = "iii:cluster"
    #: Stable name of this engine in the cluster; default ``<host>-<pid>-<random>``.
    engine_id: str | None = None
    #: How often this engine refreshes its announcement and re-reads the others'.
    heartbeat_ms: int = 1_000
    #: An engine whose announcement is older than this is gone: its proxies are removed and
    #: calls waiting on it fail with ``invocation_stopped``.
    ttl_ms: int = 5_000
    #: Longest wait for a remote engine's answer to a proxied call.
    call_timeout_ms: int = 30_000
    #: Trigger types whose bindings are copied to every engine (the binding calls the proxy):
    #: ``http`` lets any engine's HTTP port serve a route a worker registered elsewhere.
    replicate_trigger_types: list[str] = msgspec.field(default_factory=lambda: ["http"])
    #: Requests taken from the request list per Redis round trip.
    batch: int = 256
    #: Connections in the Redis pool; blocking reads (BRPOP, SUBSCRIBE) each hold one. At the
    #: cap a command waits for a free connection, up to ``pool_timeout_ms``.
    max_connections: int = 512
    pool_timeout_ms: int = 5000

    def __post_init__(self) -> None:
        if self.heartbeat_ms < 50:
            raise ValueError("heartbeat_ms must be at least 50")
        if self.ttl_ms < 2 * self.heartbeat_ms:
            raise ValueError("ttl_ms must be at least twice heartbeat_ms")
        if self.call_timeout_ms <= 0:
            raise ValueError("call_timeout_ms must be positive")
        if self.batch < 1:
            raise ValueError("batch must be at least 1")
        check_redis_settings(self.redis_url, self.max_connections, self.pool_timeout_ms)
