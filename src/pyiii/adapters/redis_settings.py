"""Config-time checks of a Redis adapter block (``redis_url``, ``max_connections``,
``pool_timeout_ms``), without loading redis-py: a config struct's ``__post_init__`` calls
:func:`check_redis_settings`, so a bad value is reported with its config.yaml line before any
worker starts. :mod:`.redis_connection` builds the client from the same values."""

from __future__ import annotations

from urllib.parse import urlsplit

from pyiii.urls import without_credentials

#: The URL schemes redis-py connects with.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def check_redis_settings(redis_url: str, max_connections: int, pool_timeout_ms: int) -> None:
    """Raise ValueError naming the bad key."""
    try:
        parts = urlsplit(redis_url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"redis_url {without_credentials(redis_url)!r}: {exc}") from None
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError(f"redis_url {without_credentials(redis_url)!r} must start with "
                         f"{', '.join(s + '://' for s in REDIS_SCHEMES)}")
    if max_connections < 1:
        raise ValueError(f"max_connections must be at least 1, got {max_connections}")
    if pool_timeout_ms < 0:
        raise ValueError(f"pool_timeout_ms must be >= 0, got {pool_timeout_ms}")
