"""Spec iii-0.23-0.25 §6.2 (namespace resolution), items 7–14; rules in §1.2 and §1.3.

The engine runs with ``III_NAMESPACE_GRACE_MS=300`` (item 10) over a top-level
``registration_namespace_grace_ms: 10000`` (item 11: accepted; the variable wins), and with
``engine.namespace_hold_quiet_ms`` raised far above the grace so that only the grace ends a silent
client's hold here (pyiii's earlier end of the hold is docs/compatibility.md, Namespaces).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.conftest import (
    PY_DRIVER,
    Connect,
    NodeDriver,
    Raw,
    declare,
    function_namespaces,
    rows,
    start_engine,
    uid,
    until_namespaces,
)
from tests.support.engine import EngineProcess
from tests.support.official_sdks import official_sdk_python
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop

GRACE_MS = 300


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = start_engine(tmp_path_factory.mktemp("conf-6-2"),
                        extra={"registration_namespace_grace_ms": 10000,
                               "engine": {"namespace_hold_quiet_ms": 60000}},
                        env={"III_NAMESPACE_GRACE_MS": str(GRACE_MS)})
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def billing_driver(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeDriver]:
    """A 0.25.0 driver process started with ``III_NAMESPACE=billing`` in its environment."""
    monkeypatch.setenv("III_NAMESPACE", "billing")
    python = official_sdk_python("0.25.0")
    driver = NodeDriver(tmp_path_factory.mktemp("billing") / "driver.log", [str(python), str(PY_DRIVER)],
                        cwd=PY_DRIVER.parent)
    try:
        yield driver
    finally:
        driver.close()


async def test_7_namespaced_worker_function_is_listed_once_in_its_namespace(engine: EngineProcess,
                                                                           worker: Connect) -> None:
    w = await worker(engine.url, namespace="orders")
    fid = uid("svc::f")
    await w.register_function(fid, "echo")
    await until_namespaces(w, fid, ["orders"])

    listed = [r for r in await rows(w, "engine::functions::list", "functions") if r["function_id"] == fid]

    assert len(listed) == 1
    assert listed[0]["function_id"] == fid and listed[0]["namespace"] == "orders"


async def test_8_no_namespace_is_default_and_iii_namespace_env_is_used(
    engine: EngineProcess, worker: Connect, billing_driver: NodeDriver
) -> None:
    plain = await worker(engine.url)
    from_env = await worker(engine.url, driver=billing_driver)
    plain_fid, env_fid = uid("svc::plain"), uid("svc::env")
    await plain.register_function(plain_fid, "echo")
    await from_env.register_function(env_fid, "echo")

    await until_namespaces(plain, plain_fid, ["default"])
    await until_namespaces(plain, env_fid, ["billing"])


async def test_9_raw_registration_before_workers_register_lands_in_declared_namespace(
    engine: EngineProcess, raw: Raw
) -> None:
    w = await raw(engine.url)
    fid = uid("svc::early")
    await w.register(fid)
    assert (await declare(w, uid("early"), namespace="orders"))["result"] == {"success": True}

    assert await function_namespaces(w, fid) == ["orders"]
    outsider = await raw(engine.url)
    miss = await outsider.call(fid, {})
    assert miss["error"]["code"] == "function_not_found"
    assert "not found in namespace default" in miss["error"]["message"]


async def test_10_raw_client_without_workers_register_is_served_in_default_after_the_grace(
    engine: EngineProcess, raw: Raw
) -> None:
    caller = await raw(engine.url)
    fid = uid("svc::graced")
    accepted_before = time.monotonic()
    owner = await raw(engine.url)
    await owner.register(fid)

    # Not before: a call right away finds nothing (bounded: it must come back inside the grace).
    early = await caller.call(fid, {}, namespace="default")
    answered_after = time.monotonic() - accepted_before
    assert answered_after < GRACE_MS / 1000, f"the machine is too slow to check 'not before' ({answered_after:.3f}s)"
    assert early["error"]["code"] == "function_not_found"

    await until_namespaces(caller, fid, ["default"], timeout=5)
    elapsed = time.monotonic() - accepted_before
    assert GRACE_MS / 1000 * 0.9 <= elapsed < 10, elapsed  # the env's 300 ms, not the config's 10 s


def test_11_grace_key_is_accepted_at_top_level_and_refused_inside_a_listener(
    engine: EngineProcess, tmp_path: Path
) -> None:
    assert engine.proc is not None and engine.proc.poll() is None  # this module's engine has it at top level
    listener = {"name": "iii-worker-manager", "config": {"port": 0, "host": "127.0.0.1",
                                                           "registration_namespace_grace_ms": 10000}}
    bad = EngineProcess(tmp_path, workers=[listener])
    with pytest.raises(RuntimeError, match="before listening"):
        bad.start(timeout=30)
    assert bad.proc is not None and bad.proc.returncode != 0
    assert "registration_namespace_grace_ms" in bad.logs()


async def test_12_late_workers_register_after_the_grace_keeps_the_worker_in_default(
    engine: EngineProcess, raw: Raw
) -> None:
    w = await raw(engine.url)
    fid = uid("svc::late")
    await w.register(fid)
    await until_namespaces(w, fid, ["default"], timeout=5)  # the grace expired

    assert (await declare(w, uid("late"), namespace="orders"))["result"] == {"success": True}

    me = [r for r in await rows(w, "engine::workers::list", "workers") if r["id"] == w.worker_id]
    assert [r["namespace"] for r in me] == ["default"]
    assert await function_namespaces(w, fid) == ["default"]


async def test_13_sync_workers_register_with_a_blank_namespace_fails(engine: EngineProcess, raw: Raw) -> None:
    w = await raw(engine.url)

    answer = await declare(w, "blank", namespace="  ")

    assert answer["error"]["code"] == "INVALID_NAMESPACE"


async def test_14_null_namespace_in_workers_register_is_default(engine: EngineProcess, raw: Raw) -> None:
    w = await raw(engine.url)
    fid = uid("svc::nulled")
    await w.register(fid)

    assert (await declare(w, uid("nulled"), namespace=None))["result"] == {"success": True}

    assert await function_namespaces(w, fid) == ["default"]

    async def listed_in_default() -> bool:
        me = [r for r in await rows(w, "engine::workers::list", "workers") if r["id"] == w.worker_id]
        return [r["namespace"] for r in me] == ["default"]

    await eventually(listed_in_default, 5, what="the worker in default")

