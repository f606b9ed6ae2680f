"""Every configuration function's result shape and error codes, on a real engine process."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.configuration.support import ENV_NAME, PORT_SCHEMA, err, ok, register, unique
from tests.support.engine import EngineProcess
from tests.support.wire import RawWorker


async def test_register_get_set_shapes(client: RawWorker, cfg_engine: EngineProcess) -> None:
    cid = unique()
    entry = await register(client, cid, {"port": 1}, metadata={"owner": "tests"})
    assert entry == {"id": cid, "name": f"Name of {cid}", "description": "test entry", "schema": PORT_SCHEMA,
                     "value": {"port": 1}, "metadata": {"owner": "tests"}}
    assert await ok(client, "configuration::get", {"id": cid}) == {"id": cid, "value": {"port": 1}}
    assert await ok(client, "configuration::set", {"id": cid, "value": {"port": 2}}) == {
        "old_value": {"port": 1}, "new_value": {"port": 2}}
    # re-registering without initial_value keeps the stored value and replaces the rest
    again = await register(client, cid)
    assert again["value"] == {"port": 2} and "metadata" not in again
    # with initial_value the value is replaced
    assert (await register(client, cid, {"port": 3}))["value"] == {"port": 3}
    doc = yaml.safe_load((cfg_engine.workdir / "config" / f"{cid}.yaml").read_text())
    assert doc == {"id": cid, "name": f"Name of {cid}", "description": "test entry", "value": {"port": 3}}


async def test_register_without_value_stores_null(client: RawWorker) -> None:
    cid = unique()
    assert (await register(client, cid))["value"] is None
    assert await ok(client, "configuration::get", {"id": cid}) == {"id": cid, "value": None}


async def test_list_and_schema(client: RawWorker) -> None:
    b, a = unique("b"), unique("a")
    await register(client, b, {"port": 1}, metadata={"m": 1})
    await register(client, a, {"port": 1})
    rows = (await ok(client, "configuration::list", {}))["configurations"]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    mine = {r["id"]: r for r in rows if r["id"] in (a, b)}
    assert mine[a] == {"id": a, "name": f"Name of {a}", "description": "test entry", "schema": PORT_SCHEMA}
    assert mine[b]["metadata"] == {"m": 1} and "value" not in mine[b]
    assert await ok(client, "configuration::schema", {"id": b}) == mine[b]


async def test_env_expansion_on_read_and_validation(client: RawWorker) -> None:
    cid = unique()
    template = {"port": f"${{{ENV_NAME}}}", "host": "h-${" + ENV_NAME + "}"}
    entry = await register(client, cid, template)
    assert entry["value"] == template  # stored verbatim
    assert await ok(client, "configuration::get", {"id": cid}) == {"id": cid, "value": {"port": 8080, "host": "h-8080"}}
    assert await ok(client, "configuration::get", {"id": cid, "raw": True}) == {"id": cid, "value": template}
    # defaults, and an unset variable without default left as written (then the schema refuses it)
    await ok(client, "configuration::set", {"id": cid, "value": {"port": "${PYIII_CFG_UNSET_X:3111}"}})
    assert (await ok(client, "configuration::get", {"id": cid}))["value"] == {"port": 3111}
    e = await err(client, "configuration::set", {"id": cid, "value": {"port": "${PYIII_CFG_UNSET_X}"}})
    assert e["code"] == "SCHEMA_INVALID" and "$.port" in e["message"]
    # an env value that is not an integer fails validation after expansion
    e = await err(client, "configuration::set", {"id": cid, "value": {"port": "${PYIII_CFG_UNSET_X:abc}"}})
    assert e["code"] == "SCHEMA_INVALID"


async def test_schema_invalid_lists_every_violation(client: RawWorker) -> None:
    cid = unique()
    e = await err(client, "configuration::register", {"id": cid, "name": "n", "description": "d",
                                                      "schema": PORT_SCHEMA, "initial_value": {"port": 0, "x": 1}})
    assert e["code"] == "SCHEMA_INVALID"
    assert "$.port" in e["message"] and "'x'" in e["message"]
    assert (await err(client, "configuration::get", {"id": cid}))["code"] == "NOT_FOUND"  # nothing stored
    await register(client, cid, {"port": 5})
    e = await err(client, "configuration::set", {"id": cid, "value": {"port": "5", "host": 7}})
    assert e["code"] == "SCHEMA_INVALID" and "$.host" in e["message"] and "$.port" in e["message"]
    assert (await ok(client, "configuration::get", {"id": cid}))["value"] == {"port": 5}
    bad_schema = {"type": "no-such-type"}
    e = await err(client, "configuration::register", {"id": cid, "name": "n", "description": "d", "schema": bad_schema})
    assert e["code"] == "SCHEMA_INVALID"


async def test_not_found_and_not_registered(client: RawWorker) -> None:
    cid = unique()
    assert (await err(client, "configuration::get", {"id": cid}))["code"] == "NOT_FOUND"
    assert (await err(client, "configuration::schema", {"id": cid}))["code"] == "NOT_FOUND"
    assert (await err(client, "configuration::set", {"id": cid, "value": {}}))["code"] == "NOT_REGISTERED"


@pytest.mark.parametrize("bad", ["Upper", "has space", "a/b", "../x", "", "x" * 65, "dot.ted"])
async def test_invalid_id(client: RawWorker, bad: str) -> None:
    for fid, payload in [
        ("configuration::register", {"id": bad, "name": "n", "description": "d", "schema": {}}),
        ("configuration::set", {"id": bad, "value": 1}),
        ("configuration::get", {"id": bad}),
        ("configuration::schema", {"id": bad}),
    ]:
        e = await err(client, fid, payload)
        assert e["code"] == "INVALID_ID", (fid, e)


async def test_wrong_payload_shape(client: RawWorker) -> None:
    e = await err(client, "configuration::register", {"name": "n", "description": "d", "schema": {}})
    assert e["code"] == "deserialization_error"
    e = await err(client, "configuration::get", {"id": 5})
    assert e["code"] == "deserialization_error"
