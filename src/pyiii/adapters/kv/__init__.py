"""The kv storage shared by iii-state and iii-stream: memory, SQLite (WAL) or Redis.

:func:`open_store` turns an ``adapter:`` block into an open :class:`KvStore` (and, for
streams, the :class:`EventBus` its change events travel on).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiii.adapters.kv.bus import EventBus
from pyiii.adapters.kv.config import AdapterConfig, KvAdapter, KvConfig, RedisAdapter, RedisConfig
from pyiii.adapters.kv.memory import MemoryStore
from pyiii.adapters.kv.sqlite import SqliteStore, resolve_db_path
from pyiii.adapters.kv.store import KvError, KvStore, decode, encode
from pyiii.adapters.kv.update_ops import MISSING


def build_store(adapter: AdapterConfig | None, *, namespace: str, default_dir: Path, base: Path) -> KvStore:
    """``adapter`` ``None`` (no block in config.yaml) is the durable embedded default:
    SQLite at ``<default_dir>/<namespace>.db``."""
    if adapter is None:
        return SqliteStore(default_dir / f"{namespace}.db", namespace)
    if isinstance(adapter, RedisAdapter):
        from pyiii.adapters.kv.redis_store import RedisStore  # redis-py only when configured

        cfg = adapter.config
        return RedisStore(cfg.redis_url, namespace, max_connections=cfg.max_connections,
                          pool_timeout_ms=cfg.pool_timeout_ms, max_update_retries=cfg.max_update_retries)
    kv = adapter.config
    if kv.store_method == "in_memory":
        return MemoryStore()
    return SqliteStore(resolve_db_path(kv.file_path, namespace, base), namespace,
                       synchronous=kv.synchronous, busy_timeout_ms=kv.busy_timeout_ms)


def build_bus(store: KvStore, channel: str) -> EventBus:
    """Redis stores share events between engines over pub/sub; others stay in process."""
    return store.change_bus(channel)


if TYPE_CHECKING:
    from pyiii.adapters.kv.redis_bus import RedisEventBus
    from pyiii.adapters.kv.redis_store import RedisStore


def __getattr__(name: str) -> Any:
    # The Redis classes load redis-py (tens of ms): imported on first use, not with the package.
    if name == "RedisStore":
        from pyiii.adapters.kv.redis_store import RedisStore

        return RedisStore
    if name == "RedisEventBus":
        from pyiii.adapters.kv.redis_bus import RedisEventBus

        return RedisEventBus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MISSING",
    "AdapterConfig",
    "EventBus",
    "KvAdapter",
    "KvConfig",
    "KvError",
    "KvStore",
    "MemoryStore",
    "RedisAdapter",
    "RedisConfig",
    "RedisEventBus",
    "RedisStore",
    "SqliteStore",
    "build_bus",
    "build_store",
    "decode",
    "encode",
]
