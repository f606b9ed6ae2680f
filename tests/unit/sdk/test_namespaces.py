"""The worker's namespace in pyiii.sdk, as iii-sdk 0.23+ sends it (spec iii-0.23-0.25 §1.3-§1.4)."""

from __future__ import annotations

import asyncio

import pytest

from pyiii.sdk import InitOptions
from pyiii.sdk.namespaces import call_namespace, worker_namespace
from tests.unit.sdk.conftest import ClientFactory, FakeEngine
from tests.unit.sdk.test_calls import answer


def test_the_worker_namespace_comes_from_the_options_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("III_NAMESPACE", raising=False)
    assert worker_namespace(InitOptions()) is None
    monkeypatch.setenv("III_NAMESPACE", "billing")
    assert worker_namespace(InitOptions()) == "billing"
    assert worker_namespace(InitOptions(namespace="orders")) == "orders"
    monkeypatch.setenv("III_NAMESPACE", "  ")
    assert worker_namespace(InitOptions()) is None  # a blank variable is unset
    with pytest.raises(ValueError, match="blank"):
        worker_namespace(InitOptions(namespace=" "))


def test_a_call_goes_to_its_own_namespace_then_default_for_the_engine_then_the_workers() -> None:
    assert call_namespace("svc::f", "b", "a") == "b"
    assert call_namespace("engine::functions::list", None, "a") == "default"
    assert call_namespace("configuration::list", None, "a") == "default"
    assert call_namespace("svc::f", None, "a") == "a"
    assert call_namespace("svc::f", None, None) is None  # a worker in no namespace sends none


@pytest.mark.asyncio
async def test_a_namespaced_worker_names_its_namespace_on_register_calls_and_bindings(
    engine: FakeEngine, connect: ClientFactory
) -> None:
    engine.on_frame = answer({"ok": True})
    client = await connect(namespace="orders")
    conn = await engine.connection(0)
    register = await conn.wait_for(lambda f: f.get("function_id") == "engine::workers::register")
    assert register["data"]["namespace"] == "orders"

    await asyncio.to_thread(client.trigger, {"function_id": "svc::f", "payload": {}})
    await asyncio.to_thread(client.trigger, {"function_id": "svc::f", "payload": {}, "namespace": "b"})
    await asyncio.to_thread(client.trigger, {"function_id": "engine::functions::list", "payload": {}})
    calls = [f for f in conn.frames if f.get("type") == "invokefunction" and f.get("invocation_id")]
    assert [(f["function_id"], f.get("namespace")) for f in calls] == [
        ("svc::f", "orders"), ("svc::f", "b"), ("engine::functions::list", "default")]

    client.register_trigger({"type": "http", "function_id": "svc::f", "config": {"api_path": "/f"}})
    binding = await conn.wait_for(lambda f: f.get("type") == "registertrigger")
    assert binding["namespace"] == "orders" and "trigger_namespace" not in binding


@pytest.mark.asyncio
async def test_a_worker_without_namespace_sends_frames_as_0_22_1(
    engine: FakeEngine, connect: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``namespace`` key anywhere: the engine keeps 0.22.1 rules for it (D1/D2)."""
    monkeypatch.delenv("III_NAMESPACE", raising=False)
    engine.on_frame = answer({"ok": True})
    client = await connect()
    conn = await engine.connection(0)
    register = await conn.wait_for(lambda f: f.get("function_id") == "engine::workers::register")
    assert "namespace" not in register["data"]
    await asyncio.to_thread(client.trigger, {"function_id": "engine::functions::list", "payload": {}})
    client.register_trigger({"type": "http", "function_id": "svc::f", "config": {"api_path": "/f"}})
    await conn.wait_for(lambda f: f.get("type") == "registertrigger")
    assert not [f for f in conn.frames if "namespace" in f]
