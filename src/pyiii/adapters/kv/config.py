"""Adapter config shapes, spelled exactly as iii's config.yaml spells them (spec/workers.md §1.5):

``adapter: {name: kv, config: {store_method: in_memory|file_based, file_path, save_interval_ms}}``
or ``adapter: {name: redis, config: {redis_url}}``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from pyiii.adapters.redis_settings import check_redis_settings


class KvConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    store_method: Literal["in_memory", "file_based"] = "in_memory"
    #: A ``.db`` file, or a directory (a path without suffix) that gets ``<namespace>.db`` inside.
    file_path: str = "kv_store_data.db"
    #: Accepted for compatibility; pyiii commits every write before acknowledging it.
    save_interval_ms: int = 5000
    #: Accepted for compatibility (the reference's broadcast buffer); see ``subscriber_buffer_*``.
    channel_size: int = 256
    #: pyiii: SQLite ``synchronous`` pragma. ``normal`` survives a crash of the engine process
    #: (kill -9); ``full`` also survives a power loss, at the price of an fsync per write.
    synchronous: Literal["normal", "full"] = "normal"
    #: pyiii: how long a write waits for another process holding the SQLite write lock.
    busy_timeout_ms: int = 5000


class RedisConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    redis_url: str = "redis://localhost:6379"
    #: pyiii: connections in the pool (commands of one engine share them); at the cap a command
    #: waits for one, up to ``pool_timeout_ms``.
    max_connections: int = 64
    pool_timeout_ms: int = 5000
    #: pyiii: attempts of one optimistic read-modify-write before giving up with an error.
    max_update_retries: int = 1000

    def __post_init__(self) -> None:
        check_redis_settings(self.redis_url, self.max_connections, self.pool_timeout_ms)


class KvAdapter(msgspec.Struct, tag="kv", tag_field="name", forbid_unknown_fields=True):
    config: KvConfig = msgspec.field(default_factory=KvConfig)


class RedisAdapter(msgspec.Struct, tag="redis", tag_field="name", forbid_unknown_fields=True):
    config: RedisConfig = msgspec.field(default_factory=RedisConfig)


AdapterConfig = KvAdapter | RedisAdapter
