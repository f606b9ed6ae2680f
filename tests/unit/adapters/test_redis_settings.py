"""``adapters/redis_settings.py``: a Redis adapter block is checked when config.yaml is read, in
every worker's config that has one, with an error naming the bad key."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pyiii.adapters.kv.config import RedisConfig as KvRedisConfig
from pyiii.adapters.redis_settings import check_redis_settings
from pyiii.workers.cluster.config import ClusterConfig
from pyiii.workers.cron.config import RedisLockConfig
from pyiii.workers.pubsub.config import RedisPubsubConfig
from pyiii.workers.queue.adapter_config import RedisConfig as QueueRedisConfig

CONFIGS: list[type[Any]] = [KvRedisConfig, QueueRedisConfig, RedisPubsubConfig, RedisLockConfig, ClusterConfig]


@pytest.mark.parametrize("url", ["redis://localhost", "rediss://u:p@host:6380/1", "unix:///tmp/redis.sock"])
def test_the_urls_redis_py_connects_with_pass(url: str) -> None:
    check_redis_settings(url, 1, 0)


@pytest.mark.parametrize(("url", "limits", "error"), [
    ("http://u:secret@host", (1, 0), "must start with redis://"),
    ("redis://u:secret@host:port", (1, 0), "Port could not be cast"),
    ("redis://host", (0, 0), "max_connections must be at least 1"),
    ("redis://host", (1, -1), "pool_timeout_ms must be >= 0"),
])
def test_a_bad_setting_is_named_without_the_password(url: str, limits: tuple[int, int], error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        check_redis_settings(url, *limits)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_redis_config_checks_its_settings_when_read(config: type[Any]) -> None:
    assert msgspec.convert({"redis_url": "redis://host", "pool_timeout_ms": 0}, config).pool_timeout_ms == 0
    with pytest.raises(msgspec.ValidationError, match="must start with redis://"):
        msgspec.convert({"redis_url": "http://host"}, config)
    with pytest.raises(msgspec.ValidationError, match="max_connections"):
        msgspec.convert({"max_connections": 0}, config)
