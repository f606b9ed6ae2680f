"""Pick the adapter named in config.yaml (``adapter: {name, config}``)."""

from __future__ import annotations

import logging
from pathlib import Path

from pyiii.workers.queue.adapter_config import (
    AdapterSpec,
    BuiltinConfig,
    RabbitConfig,
    RedisConfig,
    SqliteConfig,
    bridge_config,
    decode,
    validate,
)
from pyiii.workers.queue.adapters.base import QueueAdapter

log = logging.getLogger("pyiii.queue")


def _path(file_path: str | None, data_dir: Path) -> Path:
    if not file_path:
        return data_dir / "queue.db"
    path = Path(file_path)
    return path if path.is_absolute() else data_dir / path


__all__ = ["bridge_config", "build"]


def build(spec: AdapterSpec, data_dir: Path) -> QueueAdapter:
    validate(spec)
    if spec.name == "bridge":
        raise ValueError("the bridge adapter forwards operations; it is not a storage adapter")
    if spec.name == "memory":
        from pyiii.workers.queue.adapters.memory import MemoryAdapter

        return MemoryAdapter()
    if spec.name in ("sqlite", "builtin"):
        from pyiii.workers.queue.adapters.memory import MemoryAdapter
        from pyiii.workers.queue.adapters.sqlite import SqliteAdapter

        if spec.name == "builtin":
            builtin: BuiltinConfig = decode(spec, BuiltinConfig)
            if builtin.store_method == "in_memory":
                log.warning("iii-queue: builtin adapter with store_method in_memory keeps messages in memory only")
                return MemoryAdapter()
            return SqliteAdapter(_path(builtin.file_path, data_dir))
        cfg: SqliteConfig = decode(spec, SqliteConfig)
        return SqliteAdapter(_path(cfg.file_path, data_dir), cfg.synchronous.upper(), cfg.max_batch)
    if spec.name == "redis":
        from pyiii.workers.queue.adapters.redis import RedisAdapter

        return RedisAdapter(decode(spec, RedisConfig))
    from pyiii.workers.queue.adapters.rabbitmq import RabbitAdapter

    rabbit: RabbitConfig = decode(spec, RabbitConfig)
    return RabbitAdapter(rabbit)
