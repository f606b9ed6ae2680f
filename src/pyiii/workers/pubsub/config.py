"""``iii-pubsub`` config (spec/workers.md §9)."""

from __future__ import annotations

from typing import Any

import msgspec

from pyiii.adapters.redis_settings import check_redis_settings


class PubsubAdapterSpec(msgspec.Struct, forbid_unknown_fields=True):
    #: local (default, in-process) | redis (PUBLISH on a channel per topic, across engines)
    name: str = "local"
    config: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in ("local", "redis"):
            raise ValueError(f"unknown iii-pubsub adapter '{self.name}' (local or redis)")
        if self.name == "redis":
            msgspec.convert(self.config, RedisPubsubConfig)


class RedisPubsubConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = "redis://localhost:6379"
    #: Prepended to the topic to make the channel name; "" = the topic itself, as the reference.
    channel_prefix: str = ""
    #: pyiii: connections in this adapter's Redis pool; at the cap a command waits for one.
    max_connections: int = 64
    #: pyiii: how long a command waits for a free connection at the cap before it fails.
    pool_timeout_ms: int = 5000

    def __post_init__(self) -> None:
        check_redis_settings(self.redis_url, self.max_connections, self.pool_timeout_ms)


class PubsubConfig(msgspec.Struct, forbid_unknown_fields=True):
    adapter: PubsubAdapterSpec = msgspec.field(default_factory=PubsubAdapterSpec)
    #: Largest accepted ``data`` once JSON-encoded.
    max_message_bytes: int = 8 * 1024 * 1024
