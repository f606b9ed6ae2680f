"""The ``configuration`` trigger type: payloads, filters, condition functions, hand edits of
``<id>.yaml`` and TTL deletion."""

from __future__ import annotations

import asyncio

import yaml

from tests.integration.configuration.support import (
    PORT_SCHEMA,
    TTL_SECONDS,
    eventually_missing,
    next_event,
    no_event,
    ok,
    register,
    unique,
    watch,
)
from tests.support.engine import EngineProcess
from tests.support.waiting import stays
from tests.support.wire import RawWorker


async def test_events_of_register_and_set(client: RawWorker) -> None:
    cid, fid = unique(), f"test::on_cfg_{unique()}"
    await watch(client, fid, {"configuration_id": cid})
    await register(client, cid, {"port": 1}, metadata={"k": "v"})
    assert await next_event(client, fid) == {
        "type": "configuration", "event_type": "configuration:registered", "id": cid, "name": f"Name of {cid}",
        "description": "test entry", "schema": PORT_SCHEMA, "old_value": None, "new_value": {"port": 1},
        "metadata": {"k": "v"}}
    await ok(client, "configuration::set", {"id": cid, "value": {"port": "${PYIII_CFG_TEST_PORT}"}})
    event = await next_event(client, fid)
    # event values are expanded
    assert (event["event_type"], event["old_value"], event["new_value"]) == ("configuration:updated", {"port": 1},
                                                                              {"port": 8080})
    await register(client, cid)
    event = await next_event(client, fid)
    assert event["event_type"] == "configuration:updated" and "metadata" not in event
    await ok(client, "configuration::get", {"id": cid})  # reads never fire
    await no_event(client, fid)


async def test_filters_and_condition_function(client: RawWorker) -> None:
    cid, other = unique(), unique()
    only_updates, everything, conditional = (f"test::{n}_{unique()}" for n in ("upd", "all", "cond"))
    condition = f"test::big_port_{unique()}"
    await client.register(condition)
    await watch(client, only_updates, {"configuration_id": cid, "event_types": ["configuration:updated"]})
    await watch(client, everything, {})
    await watch(client, conditional, {"configuration_id": cid, "condition_function_id": condition})
    answers = {condition: lambda e: (e["new_value"] or {}).get("port", 0) > 100}

    await register(client, other, {"port": 1})
    assert (await next_event(client, everything, answers))["id"] == other
    await register(client, cid, {"port": 1})
    assert (await next_event(client, everything, answers))["event_type"] == "configuration:registered"
    await ok(client, "configuration::set", {"id": cid, "value": {"port": 500}})
    # one event, three bindings: each gets it once (the condition lets the third through)
    got = {fid: await next_event(client, fid, answers) for fid in (only_updates, everything, conditional)}
    assert all(e["new_value"] == {"port": 500} for e in got.values())
    await ok(client, "configuration::set", {"id": cid, "value": {"port": 5}})  # condition says false
    assert (await next_event(client, only_updates, answers))["new_value"] == {"port": 5}
    await no_event(client, conditional, answers)


async def test_hand_edits_fire_updated_and_deleted(client: RawWorker, cfg_engine: EngineProcess) -> None:
    cid, fid = unique(), f"test::edits_{unique()}"
    await watch(client, fid, {"configuration_id": cid, "event_types": ["configuration:updated",
                                                                       "configuration:deleted"]})
    await register(client, cid, {"port": 1})
    path = cfg_engine.workdir / "config" / f"{cid}.yaml"
    doc = yaml.safe_load(path.read_text())
    # Our own write must not come back as a hand edit; the watcher debounces 500 ms, so its batch
    # for that write is handled within 0.7 s (and the edit below lands in a batch of its own).
    await no_event(client, fid, wait=0.7)

    doc["value"] = {"port": 42}
    path.write_text(yaml.safe_dump(doc))
    event = await next_event(client, fid, timeout=10)
    assert (event["event_type"], event["old_value"], event["new_value"]) == (
        "configuration:updated", {"port": 1}, {"port": 42})
    assert event["schema"] == PORT_SCHEMA  # the schema survives a hand edit
    assert (await ok(client, "configuration::get", {"id": cid}))["value"] == {"port": 42}

    # an edit the schema refuses is ignored; so is broken YAML
    doc["value"] = {"port": "not a number"}
    path.write_text(yaml.safe_dump(doc))
    await no_event(client, fid, wait=1.5)
    path.write_text("value: [unclosed")
    await no_event(client, fid, wait=1.5)
    assert (await ok(client, "configuration::get", {"id": cid}))["value"] == {"port": 42}

    path.unlink()
    event = await next_event(client, fid, timeout=10)
    assert (event["event_type"], event["old_value"], event["new_value"]) == (
        "configuration:deleted", {"port": 42}, None)
    assert (await client.call("configuration::get", {"id": cid}))["error"]["code"] == "NOT_FOUND"


async def test_ttl_deletes_after_last_trigger_goes(client: RawWorker, cfg_engine: EngineProcess) -> None:
    cid, fid, observer = unique(), f"test::ttl_{unique()}", f"test::ttl_obs_{unique()}"
    await watch(client, observer, {"event_types": ["configuration:deleted"]})
    first = await watch(client, fid, {"configuration_id": cid})
    second = await watch(client, fid, {"configuration_id": cid})
    await register(client, cid, {"port": 1})

    await client.send({"type": "unregistertrigger", "id": first, "trigger_type": "configuration"})

    async def kept() -> bool:
        return bool((await ok(client, "configuration::get", {"id": cid}))["value"] == {"port": 1})

    # Another trigger still watches: kept. A countdown would delete it TTL_SECONDS after the
    # unregister, so TTL_SECONDS + 0.5 covers it.
    await stays(kept, TTL_SECONDS + 0.5, what="the watched configuration to be kept")

    await client.send({"type": "unregistertrigger", "id": second, "trigger_type": "configuration"})
    await asyncio.sleep(TTL_SECONDS / 2)  # not a wait: a watcher comes back halfway through the countdown
    third = await watch(client, fid, {"configuration_id": cid})  # cancels the countdown
    await stays(kept, TTL_SECONDS + 0.5, what="the configuration to be kept once watched again")

    await client.send({"type": "unregistertrigger", "id": third, "trigger_type": "configuration"})
    await eventually_missing(client, cid, timeout=TTL_SECONDS + 5)
    event = await next_event(client, observer)
    assert (event["event_type"], event["id"], event["old_value"], event["new_value"]) == (
        "configuration:deleted", cid, {"port": 1}, None)
    assert not (cfg_engine.workdir / "config" / f"{cid}.yaml").exists()
