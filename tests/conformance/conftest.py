"""Shared fixtures of the §6 conformance suite (spec iii-0.23-0.25 §6).

Each module starts one real pyiii engine (``tests/support/engine.py``) and drives it with the
official ``iii-sdk`` 0.25.0 (one ``tests/interop/py_driver.py`` process per module, its venv cached
under ``tests/.cache/sdks``) and with raw protocol clients (``tests/support/wire.py``) where the
exact frame is the statement. Tests use unique ids and worker names (``uid``), so they share
their module's engine.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.interop import conftest as interop
from tests.interop.conftest import PY_DRIVER, DriverWorker, NodeDriver, NodeError, uid
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

os.environ["OTEL_ENABLED"] = "false"

# The interop harness's fixtures, shared rather than copied: the SDK driver processes
# (``official_py``), the workers inside them (``driver_worker``).
official_py = interop.official_py
driver_worker = interop.driver_worker

__all__ = ["PY_DRIVER", "DriverWorker", "NodeDriver", "NodeError", "uid"]

#: The SDK every statement is checked with unless it names another version.
SDK = "0.25.0"

Connect = Callable[..., Awaitable[DriverWorker]]
Raw = Callable[..., Awaitable[RawWorker]]


def start_engine(workdir: Path, workers: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None) -> EngineProcess:
    return EngineProcess(workdir, workers=workers, extra=extra, env=env).start()


@pytest.fixture(scope="module")
def sdk(official_py: Callable[[str], NodeDriver]) -> NodeDriver:
    """The module's ``py_driver.py`` process hosting iii-sdk 0.25.0."""
    return official_py(SDK)


@pytest.fixture
def worker(sdk: NodeDriver, driver_worker: Any) -> Connect:
    """``await worker(url, name=None, namespace=None, driver=None, headers=None)`` -> a connected
    official client (0.25.0 unless ``driver`` hosts another version), shut down after the test."""

    async def make(url: str, name: str | None = None, *, namespace: str | None = None,
                   driver: NodeDriver | None = None, **options: Any) -> DriverWorker:
        return await driver_worker(driver or sdk, url, name or uid("conf"),  # type: ignore[no-any-return]
                                   namespace=namespace, **options)

    return make


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    """``await raw(url, headers=None)`` -> a raw protocol client, closed after the test."""
    made: list[RawWorker] = []

    async def make(url: str, headers: dict[str, str] | None = None) -> RawWorker:
        w = await RawWorker.connect(url, headers)
        made.append(w)
        return w

    yield make
    for w in made:
        await w.close()


async def declare(w: RawWorker, name: str, **data: Any) -> dict[str, Any]:
    """A raw, sync ``engine::workers::register``; the whole invocationresult frame."""
    return await w.call("engine::workers::register", {"runtime": "raw", "pid": 1, "name": name, **data})


async def rows(caller: Any, listing: str, key: str, **payload: Any) -> list[dict[str, Any]]:
    """The rows of an ``engine::*::list`` call, from an SDK worker or a raw client."""
    if isinstance(caller, RawWorker):
        answer = await caller.call(listing, payload)
        return answer["result"][key]  # type: ignore[no-any-return]
    return (await caller.trigger(listing, payload))[key]  # type: ignore[no-any-return]


async def function_namespaces(caller: Any, function_id: str) -> list[str]:
    """The namespaces ``engine::functions::list`` shows ``function_id`` in, sorted (``engine::*``
    ids are listed with ``include_internal``, a pyiii filter)."""
    listed = await rows(caller, "engine::functions::list", "functions", include_internal=True)
    return sorted(r["namespace"] for r in listed
                  if r["function_id"] == function_id)


async def until_namespaces(caller: Any, function_id: str, expected: list[str], timeout: float = 10.0) -> None:
    """Registrations have no ack: wait until ``function_id`` is listed in exactly ``expected``."""

    async def probe() -> bool:
        return await function_namespaces(caller, function_id) == sorted(expected)

    await eventually(probe, timeout, 0.05, what=f"{function_id} in {expected}", retry_on=(Exception,))
