"""``iii-cron`` config (spec/workers.md §10)."""

from __future__ import annotations

from typing import Any

import msgspec

from pyiii.adapters.redis_settings import check_redis_settings


class KvLockConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The reference's ``kv`` adapter keys; pyiii keeps these locks in process (one engine)."""

    lock_ttl_ms: int = 30_000
    lock_index: str = "cron_locks"
    store_method: str | None = None
    file_path: str | None = None
    save_interval_ms: int | None = None


class RedisLockConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = "redis://localhost:6379"
    lock_ttl_ms: int = 30_000
    #: Lock keys are ``<key_prefix>:<job id>:<scheduled time>``.
    key_prefix: str = "cron_lock"
    #: pyiii: connections in this adapter's Redis pool; at the cap a command waits for one.
    max_connections: int = 16
    #: pyiii: how long a command waits for a free connection at the cap before it fails.
    pool_timeout_ms: int = 5000

    def __post_init__(self) -> None:
        check_redis_settings(self.redis_url, self.max_connections, self.pool_timeout_ms)


class CronAdapterSpec(msgspec.Struct, forbid_unknown_fields=True):
    #: kv (default, in-process) | memory (same) | redis (one fire per tick across engines)
    name: str = "kv"
    config: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name in ("kv", "memory"):
            msgspec.convert(self.config, KvLockConfig)
        elif self.name == "redis":
            msgspec.convert(self.config, RedisLockConfig)
        else:
            raise ValueError(f"unknown iii-cron adapter '{self.name}' (kv or redis)")


class CronConfig(msgspec.Struct, forbid_unknown_fields=True):
    adapter: CronAdapterSpec = msgspec.field(default_factory=CronAdapterSpec)
    #: A tick whose time passed more than this long ago is skipped, not fired late (no catch-up).
    misfire_grace_ms: int = 1000
    #: Zone of jobs whose trigger config has no ``timezone``.
    default_timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.misfire_grace_ms < 0:
            raise ValueError("misfire_grace_ms must be >= 0")
