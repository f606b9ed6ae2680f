"""The official Python SDK (iii-sdk 0.22.1) registers, sets and reads a configuration entry and
receives ``configuration`` trigger events."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.configuration.support import PORT_SCHEMA, engine, unique
from tests.integration.state.kvsupport import call, sdk_worker
from tests.support.engine import EngineProcess


@pytest.fixture(scope="module")
def sdk_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    proc = engine(tmp_path_factory.mktemp("cfg-sdk")).start()
    try:
        yield proc
    finally:
        proc.stop()


def test_sdk_register_set_get_and_trigger(sdk_engine: EngineProcess) -> None:
    cid = unique()
    seen: queue.Queue[dict[str, Any]] = queue.Queue()
    with sdk_worker(sdk_engine.url, "cfg-sdk") as w:
        w.register_function("test::on_config", lambda event: seen.put(event))
        w.register_trigger({"type": "configuration", "function_id": "test::on_config",
                            "config": {"configuration_id": cid}})
        call(w, "engine::functions::list", {})  # a round trip: the registrations above have arrived
        entry = call(w, "configuration::register", {"id": cid, "name": "SDK", "description": "from the SDK",
                                                    "schema": PORT_SCHEMA, "initial_value": {"port": 1}})
        assert entry["value"] == {"port": 1} and entry["schema"] == PORT_SCHEMA
        assert call(w, "configuration::set", {"id": cid, "value": {"port": 2}}) == {
            "old_value": {"port": 1}, "new_value": {"port": 2}}
        assert call(w, "configuration::get", {"id": cid}) == {"id": cid, "value": {"port": 2}}
        events = [seen.get(timeout=10) for _ in range(2)]
        assert [(e["event_type"], e["old_value"], e["new_value"]) for e in events] == [
            ("configuration:registered", None, {"port": 1}), ("configuration:updated", {"port": 1}, {"port": 2})]
        assert all(e["type"] == "configuration" and e["id"] == cid and e["name"] == "SDK" for e in events)
        from iii import InvocationError

        with pytest.raises(InvocationError) as info:
            call(w, "configuration::set", {"id": cid, "value": {"port": "two"}})
        assert info.value.code == "SCHEMA_INVALID" and "$.port" in info.value.message
        with pytest.raises(InvocationError) as info:
            call(w, "configuration::get", {"id": "Not Valid"})
        assert info.value.code == "INVALID_ID"
