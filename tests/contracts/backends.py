"""What the contract suites share: reachability of the servers, capability marks, known breaks.

A suite's ``Backend`` lists its capabilities; a test that needs one is marked
``@pytest.mark.needs("durable")`` and :func:`apply_marks` skips it on a backend without it. A
backend that breaks a property it should hold is listed in the suite's ``BROKEN`` table and
:func:`apply_marks` marks that one test ``xfail(strict=True)`` for that one backend.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("PYIII_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("PYIII_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

#: Every name this tier makes on a shared server starts with it (and a per-test suffix).
NAME_PREFIX = "pyiii-contracts"


def unique(kind: str) -> str:
    return f"{NAME_PREFIX}-{kind}-{uuid.uuid4().hex[:10]}"


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def require_redis() -> None:
    """Skip (loudly: ``pytest -rs``) when Redis does not answer PING."""
    pytest.importorskip("redis")
    host, port = _address(REDIS_URL, 6379)
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return
    except OSError as exc:
        pytest.skip(f"REDIS NOT REACHABLE at {host}:{port} ({exc}): the redis backend is NOT tested")
    pytest.skip(f"REDIS NOT ANSWERING PING at {host}:{port}: the redis backend is NOT tested")


def require_rabbitmq() -> None:
    pytest.importorskip("aio_pika")
    host, port = _address(AMQP_URL, 5672)
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"RABBITMQ NOT REACHABLE at {host}:{port} ({exc}): the rabbitmq backend is NOT tested")


def apply_marks(request: pytest.FixtureRequest, backend: str, capabilities: frozenset[str],
                broken: Mapping[tuple[str, str], str]) -> None:
    """Skip the test when ``backend`` lacks a capability it ``needs``; mark it a strict xfail
    when ``broken`` lists (test name, backend)."""
    for mark in request.node.iter_markers("needs"):
        missing = [c for c in mark.args if c not in capabilities]
        if missing:
            pytest.skip(f"{backend} has no {', '.join(missing)} (a legitimate difference of this backend)")
    name = request.node.originalname if isinstance(request.node, pytest.Function) else request.node.name
    reason = broken.get((name, backend))
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=f"{backend}: {reason}"))
