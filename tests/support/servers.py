"""Whether the shared Redis and RabbitMQ answer, and the loud skip when a test needs one that
does not (``pytest -rs`` lists what was NOT tested)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

#: The servers the tiers use (a test may name a database of its own).
REDIS_URL = os.environ.get("PYIII_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("PYIII_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def redis_reachable(url: str = REDIS_URL) -> bool:
    """Redis at ``url`` answers PING (a raw socket: no client library needed)."""
    try:
        with socket.create_connection(_address(url, 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis(needed_by: str, url: str = REDIS_URL) -> None:
    """Skip the test, loudly, unless redis-py is installed and Redis at ``url`` answers."""
    pytest.importorskip("redis")
    if not redis_reachable(url):
        host, port = _address(url, 6379)
        pytest.skip(f"REDIS NOT REACHABLE at {host}:{port}: {needed_by} NOT tested")


def require_rabbitmq(needed_by: str, url: str = AMQP_URL) -> None:
    """Skip the test, loudly, unless aio-pika is installed and RabbitMQ at ``url`` accepts a connection."""
    pytest.importorskip("aio_pika")
    host, port = _address(url, 5672)
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"RABBITMQ NOT REACHABLE at {host}:{port} ({exc}): {needed_by} NOT tested")
