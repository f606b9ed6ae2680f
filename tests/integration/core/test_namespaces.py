"""A connection's namespace through the real engine, raw frames (spec iii-0.23-0.25 §6.2)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.engine import EngineProcess
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

GRACE_MS = 3000


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = EngineProcess(tmp_path_factory.mktemp("ns"), extra={"registration_namespace_grace_ms": GRACE_MS}).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def raw(engine: EngineProcess) -> AsyncIterator[Any]:
    made: list[RawWorker] = []

    async def make() -> RawWorker:
        w = await RawWorker.connect(engine.url)
        made.append(w)
        return w

    yield make
    for w in made:
        await w.close()


async def register(w: RawWorker, **data: Any) -> dict[str, Any]:
    return await w.call("engine::workers::register", {"runtime": "raw", "pid": 1, **data})


async def rows(w: RawWorker, listing: str, key: str) -> list[dict[str, Any]]:
    answer = await w.call(listing, {}, namespace="default")
    return answer["result"][key]  # type: ignore[no-any-return]


async def test_registrations_sent_before_the_namespace_land_in_it(raw: Any) -> None:
    """§6.2 item 9 (and 7): registerfunction, then register{namespace}: in it, never in default."""
    w = await raw()
    await w.register("ns::early")
    assert (await register(w, name="early", namespace="orders"))["result"] == {"success": True}

    listed = [r for r in await rows(w, "engine::functions::list", "functions") if r["function_id"] == "ns::early"]
    assert listed == [{"function_id": "ns::early", "namespace": "orders", "worker_name": "early"}]
    other = await raw()
    miss = await other.call("ns::early", {})
    assert miss["error"]["code"] == "function_not_found"
    assert "It is registered in namespace(s): orders." in miss["error"]["message"]
    workers = [r for r in await rows(w, "engine::workers::list", "workers") if r["id"] == w.worker_id]
    assert workers[0]["namespace"] == "orders"


async def test_a_client_that_never_names_a_namespace_is_served_in_default_without_the_grace(raw: Any) -> None:
    """§6.2 item 10, with pyiii's early end of the hold: an old client that goes quiet after
    registering waits far less than the grace (docs/compatibility.md, Namespaces)."""
    loop = asyncio.get_running_loop()
    owner = await raw()
    start = loop.time()
    await owner.register("ns::quiet")
    caller = await raw()

    async def listed() -> bool:
        found = await rows(caller, "engine::functions::list", "functions")
        return [r["namespace"] for r in found if r["function_id"] == "ns::quiet"] == ["default"]

    await eventually(listed, GRACE_MS / 1000, 0.02, what="the quiet client's function in default")
    assert loop.time() - start < GRACE_MS / 1000 / 2


@pytest.mark.parametrize("value", ["", "  "])
async def test_a_blank_namespace_in_the_register_payload_fails(raw: Any, value: str) -> None:
    """§6.2 item 13."""
    w = await raw()
    answer = await register(w, name="blank", namespace=value)
    assert answer["error"]["code"] == "INVALID_NAMESPACE"
    assert "namespace is empty: worker 'blank'" in answer["error"]["message"]


async def test_a_null_namespace_is_default(raw: Any) -> None:
    """§6.2 item 14 (decision D3)."""
    w = await raw()
    await w.register("ns::nulled")
    assert (await register(w, name="nulled", namespace=None))["result"] == {"success": True}
    listed = [r for r in await rows(w, "engine::functions::list", "functions") if r["function_id"] == "ns::nulled"]
    assert [r["namespace"] for r in listed] == ["default"]


async def test_a_late_declaration_keeps_the_namespace_already_fixed(raw: Any) -> None:
    """§6.2 item 12: once filed under default (here by a call naming no namespace), it stays."""
    w = await raw()
    await w.register("ns::late")
    await w.call("engine::functions::list", {})  # proves default: the hold ends here
    assert (await register(w, name="late", namespace="orders"))["result"] == {"success": True}
    workers = [r for r in await rows(w, "engine::workers::list", "workers") if r["id"] == w.worker_id]
    assert workers[0]["namespace"] == "default"


async def test_a_call_with_a_blank_namespace_is_refused(raw: Any) -> None:
    """§6.3 item 19."""
    w = await raw()
    answer = await w.call("engine::functions::list", {}, namespace="")
    assert answer["error"]["code"] == "INVALID_NAMESPACE"
