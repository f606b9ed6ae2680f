"""The ``adapter: {name, config}`` block of ``iii-queue``: each adapter's config keys and their
config-time check (spec/workers.md §8.2). Apart from the adapters themselves, so that the worker
config and every adapter read it without importing each other; ``adapters.build`` makes one.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from pyiii.adapters.redis_settings import check_redis_settings


class AdapterSpec(msgspec.Struct, forbid_unknown_fields=True):
    #: sqlite (default) | memory | builtin (reference name) | redis | rabbitmq
    name: str = "sqlite"
    config: dict[str, Any] = msgspec.field(default_factory=dict)


ADAPTER_NAMES = ("sqlite", "memory", "builtin", "redis", "rabbitmq", "bridge")


class SqliteConfig(msgspec.Struct, forbid_unknown_fields=True):
    #: Relative paths are under the engine's data folder; default data/queue.db.
    file_path: str | None = None
    #: FULL survives power loss; NORMAL survives a killed process (faster).
    synchronous: Literal["FULL", "NORMAL", "full", "normal"] = "FULL"
    #: Most operations committed together in one transaction.
    max_batch: int = 512


class BuiltinConfig(msgspec.Struct, forbid_unknown_fields=True):
    """The reference's ``builtin`` adapter keys: in_memory -> memory, file_based -> SQLite."""

    store_method: Literal["in_memory", "file_based"] = "in_memory"
    file_path: str | None = None
    save_interval_ms: int = 5000  # accepted; SQLite commits every write instead
    max_attempts: int | None = None
    backoff_ms: int | None = None
    concurrency: int | None = None
    poll_interval_ms: int | None = None
    mode: str | None = None
    channel_size: int | None = None  # accepted: the reference's in-process broadcast buffer


class RedisConfig(msgspec.Struct, forbid_unknown_fields=True):
    redis_url: str = "redis://localhost:6379"
    #: Every key this adapter writes starts with it.
    key_prefix: str = "iii:queue"
    #: Longest XREADGROUP BLOCK; a publish wakes the reader at once anyway.
    block_ms: int = 5000
    #: Consumer group name shared by every engine.
    group: str = "iii"
    #: pyiii: connections in this adapter's Redis pool; at the cap a command waits for one.
    max_connections: int = 1024
    #: pyiii: how long a command waits for a free connection at the cap before it fails.
    pool_timeout_ms: int = 5000

    def __post_init__(self) -> None:
        check_redis_settings(self.redis_url, self.max_connections, self.pool_timeout_ms)


class RabbitConfig(msgspec.Struct, forbid_unknown_fields=True):
    amqp_url: str = "amqp://guest:guest@localhost:5672/"
    max_attempts: int = 3
    prefetch_count: int = 10
    queue_mode: str = "standard"
    priority_field: str | None = None
    #: Prefix of every exchange and queue name.
    name_prefix: str = "iii"


#: The reference's adapters carry the defaults of subscribers without ``queue_config``
#: (spec/legacy-config-and-motia.md §A.4): adapter key -> iii-queue worker key.
SUBSCRIBER_DEFAULTS: dict[str, dict[str, str]] = {
    "builtin": {"max_attempts": "default_max_attempts", "backoff_ms": "default_backoff_ms",
                "concurrency": "default_concurrency"},
    "rabbitmq": {"max_attempts": "default_max_attempts"},
}
#: Adapter key naming a topic-wide order (``fifo``); any other value meant the default mode.
ORDER_KEYS = {"builtin": "mode", "rabbitmq": "queue_mode"}


def subscriber_defaults(spec: AdapterSpec) -> dict[str, int]:
    """Worker defaults set in the adapter block (raises ValueError for what pyiii cannot honour)."""
    order_key = ORDER_KEYS.get(spec.name)
    if order_key is not None and spec.config.get(order_key) == "fifo":
        raise ValueError(f"iii-queue adapter '{spec.name}': `{order_key}: fifo` (one topic-wide order) is not "
                         "supported; use a named queue with `type: fifo` and `message_group_field` in queue_configs")
    keys = SUBSCRIBER_DEFAULTS.get(spec.name, {})
    return {worker_key: spec.config[key] for key, worker_key in keys.items() if spec.config.get(key) is not None}


def decode(spec: AdapterSpec, kind: type[Any]) -> Any:
    try:
        return msgspec.convert(spec.config, kind)
    except msgspec.ValidationError as exc:
        raise ValueError(f"iii-queue adapter '{spec.name}': {exc}") from None


def validate(spec: AdapterSpec) -> None:
    """Config-time check of the adapter block (raises ValueError)."""
    from pyiii.adapters.bridge import BridgeConfig

    kinds: dict[str, type[Any]] = {"sqlite": SqliteConfig, "memory": msgspec.Struct, "builtin": BuiltinConfig,
                                   "redis": RedisConfig, "rabbitmq": RabbitConfig, "bridge": BridgeConfig}
    if spec.name not in kinds:
        raise ValueError(f"unknown iii-queue adapter '{spec.name}' (one of {', '.join(ADAPTER_NAMES)})")
    if spec.name != "memory":
        decode(spec, kinds[spec.name])


def bridge_config(spec: AdapterSpec) -> Any:
    """The ``bridge`` block (not a storage adapter: see workers/queue/bridge.py), else None."""
    from pyiii.adapters.bridge import BridgeConfig

    return decode(spec, BridgeConfig) if spec.name == "bridge" else None
