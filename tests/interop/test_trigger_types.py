"""A trigger type provided by one worker, bound by another (spec §3.3-§3.5, §3.11)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tests.interop.conftest import ENGINE_ERRORS, NodeWorker, PyWorker, uid, until_registered
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.interop


class RecordingHandler:
    """Builds an official/pyiii ``TriggerHandler`` that records what the engine asks for."""

    def __init__(self, sdk: Any) -> None:
        self.registered: list[Any] = []
        self.unregistered: list[Any] = []
        self.lock = threading.Lock()
        outer = self
        base = sdk.triggers.TriggerHandler  # iii.triggers / pyiii.sdk.triggers

        class Handler(base):  # type: ignore[misc, valid-type]
            async def register_trigger(self, config: Any) -> None:
                with outer.lock:
                    outer.registered.append(config)

            async def unregister_trigger(self, config: Any) -> None:
                with outer.lock:
                    outer.unregistered.append(config)

        self.handler = Handler()


async def registered_trigger_rows(caller: Any, **filters: Any) -> list[dict[str, Any]]:
    listing = await caller.trigger("engine::registered-triggers::list", filters)
    return list(listing["registered_triggers"])


async def test_python_provider_node_consumer_killed(
    shared_engine: EngineProcess, py_worker: Any, node_worker: Any, node_process: Any
) -> None:
    """Python (official) provides the type; a Node worker in its own process binds a function to
    it; the provider's handler gets the binding (id, function_id, config, metadata); when the
    Node process is killed -9, the engine tells the provider to disarm the same id."""
    provider: PyWorker = await py_worker("official", shared_engine.url)
    rec = RecordingHandler(provider.sdk)
    type_id = uid("interop-webhook")
    await asyncio.to_thread(
        provider.client.register_trigger_type, {"id": type_id, "description": "Interop webhook"}, rec.handler
    )
    consumer_proc = node_process()
    consumer: NodeWorker = await node_worker(shared_engine.url, driver=consumer_proc)
    fid = uid("interop::on-webhook")
    await consumer.register_function(fid, "echo")
    await until_registered(provider, fid)

    # Trigger types have no ack either: wait until the engine lists the type.
    async def type_listed() -> bool:
        rows = (await provider.trigger("engine::triggers::list", {}))["triggers"]
        return any(r["id"] == type_id for r in rows)

    await eventually(type_listed, what="trigger type registration", retry_on=ENGINE_ERRORS)
    await consumer.register_trigger(type_id, fid, {"url": "/hook", "n": 3}, metadata={"route": "public"})

    await eventually(lambda: rec.registered, what="provider register_trigger call")
    binding = rec.registered[0]
    assert binding.function_id == fid
    assert binding.config == {"url": "/hook", "n": 3}
    assert binding.metadata == {"route": "public"}

    rows = await registered_trigger_rows(provider, trigger_type=type_id)
    assert [r["id"] for r in rows] == [binding.id]
    assert rows[0]["function_id"] == fid
    assert rows[0]["worker_name"] == consumer.name

    # The provider fires the binding itself, passing the binding's metadata as the sidecar.
    fired = await provider.trigger(fid, {"event": "hook"}, metadata=binding.metadata)
    assert fired["runtime"] == "node"
    assert fired["metadata"] == {"route": "public"}

    consumer_proc.kill()
    await eventually(lambda: rec.unregistered, what="provider unregister_trigger call")
    assert [u.id for u in rec.unregistered] == [binding.id]
    assert await registered_trigger_rows(provider, trigger_type=type_id) == []


async def test_node_provider_python_consumer_disconnects(
    shared_engine: EngineProcess, py_worker: Any, node_worker: Any
) -> None:
    """Node provides the type, pyiii.sdk binds to it and disconnects: the provider is told both."""
    provider: NodeWorker = await node_worker(shared_engine.url)
    type_id = uid("interop-node-type")
    await provider.register_trigger_type(type_id, "Provided by Node")
    consumer: PyWorker = await py_worker("pyiii", shared_engine.url)
    fid = uid("interop::py-target")
    await consumer.register_function(fid, "echo")
    await until_registered(consumer, fid)

    async def type_listed() -> bool:
        rows = (await consumer.trigger("engine::triggers::list", {}))["triggers"]
        return any(r["id"] == type_id for r in rows)

    await eventually(type_listed, what="trigger type registration", retry_on=ENGINE_ERRORS)
    await asyncio.to_thread(
        consumer.client.register_trigger, {"type": type_id, "function_id": fid, "config": {"every": "1s"}}
    )
    ev = await provider.driver.wait_event(
        lambda e: e.get("event") == "register_trigger" and e["trigger"]["function_id"] == fid
    )
    trigger_id = ev["trigger"]["id"]
    assert ev["trigger"]["config"] == {"every": "1s"}

    await consumer.shutdown()
    ev = await provider.driver.wait_event(
        lambda e: e.get("event") == "unregister_trigger" and e["trigger"]["id"] == trigger_id
    )
    assert ev["w"] == provider.handle


async def test_binding_before_the_type_exists_is_delivered_later(
    shared_engine: EngineProcess, py_worker: Any, node_worker: Any
) -> None:
    """A binding for a type nobody provides yet is parked and delivered when the type appears."""
    consumer: NodeWorker = await node_worker(shared_engine.url)
    type_id = uid("interop-late-type")
    fid = uid("interop::late-target")
    await consumer.register_function(fid, "echo")
    await consumer.register_trigger(type_id, fid, {"late": True})
    # Make sure the engine processed the binding before the type shows up.
    await until_registered(consumer, fid)
    await consumer.trigger("engine::functions::list", {})

    provider: PyWorker = await py_worker("official", shared_engine.url)
    rec = RecordingHandler(provider.sdk)
    await asyncio.to_thread(provider.client.register_trigger_type, {"id": type_id, "description": "Late"}, rec.handler)
    await eventually(lambda: rec.registered, what="parked binding delivery")
    assert rec.registered[0].function_id == fid
    assert rec.registered[0].config == {"late": True}


async def test_binding_of_a_departed_provider_is_redelivered_with_the_same_id(
    shared_engine: EngineProcess, py_worker: Any, node_worker: Any, node_process: Any
) -> None:
    """The Node provider is killed -9: its bindings are parked, and the next provider of the type
    (official Python) receives them with the same trigger id."""
    first_proc = node_process()
    first: NodeWorker = await node_worker(shared_engine.url, driver=first_proc)
    type_id = uid("interop-handover")
    await first.register_trigger_type(type_id, "Handed over")
    consumer: PyWorker = await py_worker("official", shared_engine.url)
    fid = uid("interop::handover-target")
    await consumer.register_function(fid, "echo")
    await until_registered(consumer, fid)

    async def type_listed() -> bool:
        rows = (await consumer.trigger("engine::triggers::list", {}))["triggers"]
        return any(r["id"] == type_id for r in rows)

    await eventually(type_listed, what="trigger type registration", retry_on=ENGINE_ERRORS)
    await asyncio.to_thread(
        consumer.client.register_trigger, {"type": type_id, "function_id": fid, "config": {"k": "v"}}
    )
    ev = await first_proc.wait_event(lambda e: e.get("event") == "register_trigger")
    trigger_id = ev["trigger"]["id"]

    first_proc.kill()

    async def type_gone() -> bool:
        return not await type_listed()

    await eventually(type_gone, what="the departed provider's type to disappear", retry_on=ENGINE_ERRORS)
    assert await registered_trigger_rows(consumer, trigger_type=type_id) == []  # parked, not listed

    second: PyWorker = await py_worker("official", shared_engine.url)
    rec = RecordingHandler(second.sdk)
    await asyncio.to_thread(second.client.register_trigger_type, {"id": type_id, "description": "Next"}, rec.handler)
    await eventually(lambda: rec.registered, what="re-delivery to the next provider")
    assert [(b.id, b.function_id, b.config) for b in rec.registered] == [(trigger_id, fid, {"k": "v"})]
    rows = await registered_trigger_rows(consumer, trigger_type=type_id)
    assert [r["id"] for r in rows] == [trigger_id]
