"""Registration API: validation, formats from type hints, pydantic, trigger types, streams."""

from __future__ import annotations

import builtins
from typing import Any

import pytest
from pydantic import BaseModel

from pyiii.sdk import (
    IStream,
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListGroupsInput,
    StreamListInput,
    StreamSetInput,
    StreamSetResult,
    TriggerConfig,
    TriggerHandler,
    create_stream,
)
from tests.support.waiting import eventually
from tests.unit.sdk.conftest import ClientFactory, FakeEngine


class Order(BaseModel):
    sku: str
    qty: int = 1


class Receipt(BaseModel):
    order_id: str
    qty: int


@pytest.mark.asyncio
async def test_validation_errors(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    client.register_function("dup::fn", lambda d: d)
    with pytest.raises(ValueError):
        client.register_function("dup::fn", lambda d: d)
    with pytest.raises(TypeError):
        client.register_function(123, lambda d: d)
    with pytest.raises(TypeError):
        client.register_function("bad::handler", 42)
    with pytest.raises(ValueError):
        client.register_function("  ", lambda d: d)
    ref = client.register_function("again::fn", lambda d: d)
    ref.unregister()
    client.register_function("again::fn", lambda d: d)  # free again after unregister


@pytest.mark.asyncio
async def test_pydantic_models_in_and_out(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)

    async def place(order: Order) -> Receipt:
        assert isinstance(order, Order)
        return Receipt(order_id=f"o-{order.sku}", qty=order.qty)

    def count(items: list[int], metadata: dict[str, Any] | None = None) -> int:
        return len(items)

    client.register_function("orders::place", place, description="Place")
    client.register_function("util::count", count, request_format={"type": "array"})
    frames = await conn.wait_count(lambda f: f["type"] == "registerfunction", 2)
    place_frame = next(f for f in frames if f["id"] == "orders::place")
    assert place_frame["description"] == "Place"
    assert place_frame["request_format"]["properties"]["sku"]["type"] == "string"
    assert place_frame["request_format"]["$schema"].startswith("https://json-schema.org/")
    assert place_frame["response_format"]["title"] == "Receipt"
    count_frame = next(f for f in frames if f["id"] == "util::count")
    assert count_frame["request_format"] == {"type": "array"}  # explicit wins
    assert count_frame["response_format"]["type"] == "integer"
    result = await conn.result_of(await conn.invoke("orders::place", {"sku": "A", "qty": 2}))
    assert result["result"] == {"order_id": "o-A", "qty": 2}


class Provider(TriggerHandler[Any]):
    def __init__(self) -> None:
        self.armed: list[TriggerConfig[Any]] = []
        self.disarmed: list[str] = []

    async def register_trigger(self, config: TriggerConfig[Any]) -> None:
        if config.config and config.config.get("bad"):
            raise ValueError("url must start with /")
        self.armed.append(config)

    async def unregister_trigger(self, config: TriggerConfig[Any]) -> None:
        self.disarmed.append(config.id)


@pytest.mark.asyncio
async def test_trigger_type_provider(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)
    provider = Provider()
    ref = client.register_trigger_type(
        {"id": "webhook", "description": "Incoming webhook", "trigger_request_format": {"type": "object"}},
        provider,
    )
    frame = await conn.wait_for(lambda f: f["type"] == "registertriggertype")
    assert frame == {
        "type": "registertriggertype",
        "id": "webhook",
        "description": "Incoming webhook",
        "trigger_request_format": {"type": "object"},
    }
    base = {"type": "registertrigger", "trigger_type": "webhook", "function_id": "f::g"}
    await conn.send({**base, "id": "t1", "config": {"url": "/a"}, "metadata": {"m": 1}})
    await conn.send({**base, "id": "t2", "config": {"bad": True}})
    await conn.send({**base, "id": "t3", "config": {}, "namespace": "orders", "trigger_namespace": "orders"})
    ok = await conn.wait_for(lambda f: f["type"] == "triggerregistrationresult" and f["id"] == "t1")
    bad = await conn.wait_for(lambda f: f["type"] == "triggerregistrationresult" and f["id"] == "t2")
    assert ok == {"type": "triggerregistrationresult", "id": "t1", "trigger_type": "webhook", "function_id": "f::g"}
    assert bad["error"] == {"code": "trigger_registration_failed", "message": "url must start with /"}
    assert provider.armed[0].metadata == {"m": 1} and provider.armed[0].config == {"url": "/a"}
    await conn.wait_for(lambda f: f["type"] == "triggerregistrationresult" and f["id"] == "t3")
    # The binding's namespace reaches the handler: it fires the function there (iii 0.23+).
    assert provider.armed[0].namespace is None and provider.armed[1].namespace == "orders"

    await conn.send({"type": "unregistertrigger", "id": "t1", "trigger_type": "webhook"})
    await eventually(lambda: provider.disarmed, what="the provider to disarm t1")
    assert provider.disarmed == ["t1"]

    ref.register_trigger("f::g", {"url": "/b"})
    bound = await conn.wait_for(lambda f: f["type"] == "registertrigger")
    assert bound["trigger_type"] == "webhook" and bound["config"] == {"url": "/b"}
    client.unregister_trigger_type({"id": "webhook"})
    await conn.wait_for(lambda f: f["type"] == "unregistertriggertype" and f["id"] == "webhook")


class MemoryStream(IStream[Any]):
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Any] = {}

    async def get(self, input: StreamGetInput) -> Any:
        return self.items.get((input.group_id, input.item_id))

    async def set(self, input: StreamSetInput) -> StreamSetResult[Any]:
        old = self.items.get((input.group_id, input.item_id))
        self.items[(input.group_id, input.item_id)] = input.data
        return StreamSetResult(new_value=input.data, old_value=old)

    async def delete(self, input: StreamDeleteInput) -> StreamDeleteResult:
        return StreamDeleteResult(old_value=self.items.pop((input.group_id, input.item_id), None))

    async def list(self, input: StreamListInput) -> list[Any]:
        return [v for (g, _), v in self.items.items() if g == input.group_id]

    async def list_groups(self, input: StreamListGroupsInput) -> builtins.list[str]:
        return sorted({g for g, _ in self.items})


@pytest.mark.asyncio
async def test_create_stream_registers_its_functions(engine: FakeEngine, connect: ClientFactory) -> None:
    client = await connect()
    conn = await engine.connection(0)
    create_stream(client, "todos", MemoryStream())
    frames = await conn.wait_count(lambda f: f["type"] == "registerfunction", 5)
    assert {f["id"] for f in frames} == {
        f"stream::{op}(todos)" for op in ("get", "set", "delete", "list", "list_groups")
    }
    key = {"stream_name": "todos", "group_id": "g", "item_id": "1", "_caller_worker_id": "w"}
    set_result = await conn.result_of(await conn.invoke("stream::set(todos)", {**key, "data": {"t": 1}}))
    assert set_result["result"] == {"new_value": {"t": 1}, "old_value": None}
    got = await conn.result_of(await conn.invoke("stream::get(todos)", key))
    assert got["result"] == {"t": 1}
    groups = await conn.result_of(await conn.invoke("stream::list_groups(todos)", {"stream_name": "todos"}))
    assert groups["result"] == ["g"]
