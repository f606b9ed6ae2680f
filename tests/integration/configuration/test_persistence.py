"""Values survive an engine restart; schemas do not (until a worker registers again); a bad
config block is refused at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.integration.configuration.support import PORT_SCHEMA, engine, err, ok, register, unique
from tests.support.wire import RawWorker


async def test_restart_keeps_value_but_not_schema(tmp_path: Path) -> None:
    cid = unique()
    proc = engine(tmp_path, adapter={"name": "fs", "config": {"directory": "./settings"}}).start()
    try:
        client = await RawWorker.connect(proc.url)
        await register(client, cid, {"port": 7}, metadata={"v": 1})
        await ok(client, "configuration::set", {"id": cid, "value": {"port": 8}})
        await client.close()
    finally:
        proc.kill()  # no graceful shutdown: the file was complete when set answered
    assert yaml.safe_load((tmp_path / "settings" / f"{cid}.yaml").read_text())["value"] == {"port": 8}
    assert not [p for p in (tmp_path / "settings").iterdir() if p.name.startswith(".")]  # no temp files left

    proc.start()
    try:
        client = await RawWorker.connect(proc.url)
        assert await ok(client, "configuration::get", {"id": cid}) == {"id": cid, "value": {"port": 8}}
        view = await ok(client, "configuration::schema", {"id": cid})
        assert view == {"id": cid, "name": f"Name of {cid}", "description": "test entry", "schema": None,
                        "metadata": {"v": 1}}
        assert (await err(client, "configuration::set", {"id": cid, "value": {"port": 9}}))["code"] == \
            "SCHEMA_UNAVAILABLE"
        entry = await register(client, cid)  # the owner comes back: value kept, schema known again
        assert entry["value"] == {"port": 8} and entry["schema"] == PORT_SCHEMA
        assert (await ok(client, "configuration::set", {"id": cid, "value": {"port": 9}}))["new_value"] == {"port": 9}
        await client.close()
    finally:
        proc.stop()


def test_bridge_adapter_with_ttl_is_refused(tmp_path: Path) -> None:
    """The bridge adapter itself works (tests/integration/bridge); a TTL cannot apply through it."""
    proc = engine(tmp_path, adapter={"name": "bridge", "config": {"bridge_url": "ws://x:1"}}, ttl_seconds=5)
    out = subprocess.run([sys.executable, "-m", "pyiii", "--config", str(proc.config_path)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "ttl_seconds does not apply with the bridge adapter" in out.stderr + out.stdout
