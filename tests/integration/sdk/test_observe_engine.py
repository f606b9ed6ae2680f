"""pyiii.sdk against a real pyiii engine with iii 0.25's observe and local dispatch (spec
iii-0.23-0.25 §3, §5): what the scripted-engine tests pin frame by frame, end to end.

They need an engine that advertises ``observe.v1`` (the engine-side observe and local-dispatch
work); against one that does not, they skip and say so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyiii.sdk import (
    III,
    InitOptions,
    ObserveHooks,
    Observer,
    ObserveRejection,
    ReconnectionConfig,
    current_invocation,
)
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    proc = EngineProcess(tmp_path).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def workers() -> AsyncIterator[list[III]]:
    made: list[III] = []
    yield made
    for client in made:
        await asyncio.to_thread(client.shutdown)


async def worker(engine: EngineProcess, made: list[III], name: str) -> III:
    client = III(engine.url, InitOptions(worker_name=name, local_stats_interval_s=0.2,
                                         reconnection_config=ReconnectionConfig(initial_delay_ms=50)))
    made.append(client)
    await asyncio.to_thread(client._wait_until_connected)
    await eventually(lambda: client.worker_id, what="workerregistered")
    if "observe.v1" not in client.engine_features:
        pytest.skip("this engine does not advertise observe.v1 (iii 0.25 observe and local dispatch)")
    return client


async def function_row(client: III, function_id: str) -> dict[str, Any] | None:
    listed = await client.trigger_async({"function_id": "engine::functions::list", "payload": {}})
    rows = listed["functions"] if isinstance(listed, dict) else listed
    return next((r for r in rows if r.get("function_id") == function_id), None)


async def test_an_own_function_runs_in_process_and_the_engine_counts_it(
    engine: EngineProcess, workers: list[III]
) -> None:
    client = await worker(engine, workers, "e2e-local")
    client.register_function("e2e::double", lambda d: d * 2)
    assert await eventually(lambda: function_row(client, "e2e::double"))

    async def counted() -> bool:
        assert await client.trigger_async({"function_id": "e2e::double", "payload": 21}) == 42
        row = await function_row(client, "e2e::double")
        return bool(row and row.get("local_invocations", 0) >= 1)

    await eventually(counted, timeout=15, what="local invocations reported to the engine")


class Sink:
    """A target function that records what each activation saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, Any]] = []

    def __call__(self, data: Any) -> str:
        self.seen.append((data, current_invocation()))
        return "sunk"


async def test_a_filtered_observer_is_activated_by_routed_and_local_calls(
    engine: EngineProcess, workers: list[III]
) -> None:
    owner = await worker(engine, workers, "e2e-owner")
    watcher = await worker(engine, workers, "e2e-watcher")
    owner.register_function("e2e::src", lambda order: {"ok": True, "amount": order["amount"]})
    sink = Sink()
    watcher.register_function("e2e::sink", sink)
    await eventually(lambda: function_row(watcher, "e2e::src"))
    await eventually(lambda: function_row(watcher, "e2e::sink"))

    handle = watcher.observe({"function_id": "e2e::src", "filters": {"input.amount": {"$gte": 500}}},
                             "e2e::sink", {"metadata": {"team": "t"}})
    await asyncio.wait_for(handle.ready_async(), 10)

    await watcher.trigger_async({"function_id": "e2e::src", "payload": {"amount": 10}})
    await watcher.trigger_async({"function_id": "e2e::src", "payload": {"amount": 750}})  # routed to the owner
    await eventually(lambda: len(sink.seen) == 1, what="one activation")
    envelope, ctx = sink.seen[0]
    assert envelope["observer_id"] == handle.id and envelope["status"] == "success"
    assert envelope["input"] == {"amount": 750} and envelope["output"] == {"ok": True, "amount": 750}
    assert ctx.activation["observer_id"] == handle.id and ctx.observe_depth == 1

    # the owner's own call runs in-process; its report makes the engine activate the target
    await owner.trigger_async({"function_id": "e2e::src", "payload": {"amount": 900}})
    await eventually(lambda: len(sink.seen) == 2, timeout=15, what="an activation from a local call")
    assert sink.seen[1][0]["input"] == {"amount": 900}

    handle.dispose()
    await eventually(lambda: handle.state == "disposed")


async def test_owner_delivery_with_hooks_emit_and_call(engine: EngineProcess, workers: list[III]) -> None:
    owner = await worker(engine, workers, "e2e-cron")
    watcher = await worker(engine, workers, "e2e-watch")
    held: list[Observer] = []
    owner.register_function("e2e::tick", lambda _d: None, observe=ObserveHooks(
        delivery="owner", args_format={"type": "object", "required": ["every"]},
        on_observer_added=held.append))
    sink = Sink()
    watcher.register_function("e2e::on-tick", sink)
    await eventually(lambda: function_row(watcher, "e2e::tick"))
    await eventually(lambda: function_row(watcher, "e2e::on-tick"))

    handle = watcher.observe({"function_id": "e2e::tick", "args": {"every": 5}}, "e2e::on-tick")
    await asyncio.wait_for(handle.ready_async(), 10)
    [obs] = held
    assert obs.args == {"every": 5} and obs.target == "e2e::on-tick"

    assert await asyncio.to_thread(obs.emit, {"n": 1})
    await eventually(lambda: len(sink.seen) == 1, what="the emitted event reached the target")
    assert sink.seen[0][0]["input"] == {"n": 1}
    assert await asyncio.to_thread(obs.call, {"n": 2}) == "sunk"
    assert sink.seen[1][0] == {"n": 2}


async def test_against_an_engine_advertising_nothing_calls_are_routed_and_observe_is_unsupported(
    tmp_path: Path,
) -> None:
    proc = EngineProcess(tmp_path, extra={"engine": {"features": []}}).start()
    client = III(proc.url, InitOptions(worker_name="e2e-plain", local_stats_interval_s=0.2))
    try:
        await asyncio.to_thread(client._wait_until_connected)
        await eventually(lambda: client.worker_id, what="workerregistered")
        assert client.engine_features == frozenset()
        client.register_function("e2e::plain", lambda d: d + 1)
        await eventually(lambda: function_row(client, "e2e::plain"))
        assert await client.trigger_async({"function_id": "e2e::plain", "payload": 1}) == 2
        row = await function_row(client, "e2e::plain")
        assert row is not None and not row.get("local_invocations")  # it went through the engine
        handle = client.observe({"function_id": "e2e::plain"}, "e2e::plain")
        with pytest.raises(ObserveRejection) as err:
            await asyncio.wait_for(handle.ready_async(), 5)
        assert err.value.code == "UNSUPPORTED"
    finally:
        await asyncio.to_thread(client.shutdown)
        proc.stop()
