"""What the contract suites share: reachability of the servers, capability marks, known breaks.

A suite's ``Backend`` lists its capabilities; a test that needs one is marked
``@pytest.mark.needs("durable")`` and :func:`apply_marks` skips it on a backend without it. A
backend that breaks a property it should hold is listed in the suite's ``BROKEN`` table and
:func:`apply_marks` marks that one test ``xfail(strict=True)`` for that one backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pytest

from tests.support.servers import AMQP_URL, REDIS_URL
from tests.support.servers import require_rabbitmq as require_server_rabbitmq
from tests.support.servers import require_redis as require_server_redis

__all__ = ["AMQP_URL", "REDIS_URL", "apply_marks", "require_rabbitmq", "require_redis", "unique"]

#: Every name this tier makes on a shared server starts with it (and a per-test suffix).
NAME_PREFIX = "pyiii-contracts"


def unique(kind: str) -> str:
    return f"{NAME_PREFIX}-{kind}-{uuid.uuid4().hex[:10]}"


def require_redis() -> None:
    require_server_redis("the redis backend")


def require_rabbitmq() -> None:
    require_server_rabbitmq("the rabbitmq backend")


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
