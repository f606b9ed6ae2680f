"""configuration with ``adapter: bridge``: entries live on the backend engine; the front engine's
``configuration`` triggers see the backend's changes. Official iii-sdk workers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from iii.errors import InvocationError

from tests.integration.bridge.support import bridge_block
from tests.integration.state.kvsupport import call, sdk_worker, unique
from tests.support.engine import EngineProcess
from tests.support.waiting import eventually

SCHEMA = {"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["port"]}


def test_entries_live_on_backend_and_front_triggers_see_its_changes(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "front").mkdir()
    backend = EngineProcess(tmp_path / "backend").start()
    front = EngineProcess(tmp_path / "front", workers=[
        {"name": "configuration", "config": {"adapter": bridge_block(backend.url)}}]).start()
    cid = unique("svc").lower()
    seen: list[Any] = []
    try:
        with sdk_worker(front.url, "front-cfg") as fw, sdk_worker(backend.url, "back-cfg") as bw:
            fw.register_function(f"{cid}::changed", lambda event: seen.append(event))
            fw.register_trigger({"type": "configuration", "function_id": f"{cid}::changed",
                                 "config": {"configuration_id": cid}})

            def registered() -> Any:
                try:
                    return call(fw, "configuration::register", {"id": cid, "name": "Service", "description": "d",
                                                                "schema": SCHEMA, "initial_value": {"port": 1}})
                except InvocationError as exc:
                    assert exc.code == "bridge_unavailable", exc
                    return None
            entry = asyncio.run(eventually(registered, what="configuration::register through the bridge"))
            assert entry["value"] == {"port": 1}
            # stored on the backend (in its ./config directory)
            assert call(bw, "configuration::get", {"id": cid}) == {"id": cid, "value": {"port": 1}}
            assert (tmp_path / "backend" / "config" / f"{cid}.yaml").exists()
            assert not (tmp_path / "front" / "config" / f"{cid}.yaml").exists()
            # a change made on the backend reaches the front's trigger
            call(bw, "configuration::set", {"id": cid, "value": {"port": 2}})
            asyncio.run(eventually(lambda: any(e.get("new_value") == {"port": 2} for e in seen),
                                   what="the front's configuration trigger saw the backend's change"))
            event = next(e for e in seen if e.get("new_value") == {"port": 2})
            assert event["event_type"] == "configuration:updated" and event["old_value"] == {"port": 1}
            # the backend's validation answers through the front
            with pytest.raises(InvocationError) as info:
                call(fw, "configuration::set", {"id": cid, "value": {"port": "x"}})
            assert info.value.code == "SCHEMA_INVALID"
            assert [c["id"] for c in call(fw, "configuration::list", {})["configurations"]] == [cid]
    finally:
        front.stop()
        backend.stop()
