"""file_based storage: an acknowledged write survives kill -9; the no-config default is durable."""

from __future__ import annotations

from pathlib import Path

from tests.integration.state.kvsupport import call, call_concurrently, sdk_worker
from tests.support.engine import EngineProcess


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    block = {"name": "kv", "config": {"store_method": "file_based", "file_path": "./data/state_store.db"}}
    workers = [{"name": "iii-state", "config": {"adapter": block}}]
    proc = EngineProcess(tmp_path, workers=workers).start()
    with sdk_worker(proc.url) as w:
        acked = call_concurrently(w, [("state::set", {"scope": "d", "key": f"k{i}", "value": i}) for i in range(200)])
        call_concurrently(w, [("state::update", {"scope": "d", "key": "n", "ops": [
            {"type": "increment", "path": "", "by": 1}]})] * 50)
        proc.kill()  # SIGKILL right after the last acknowledgement: no shutdown hook runs
    assert len(acked) == 200
    assert (tmp_path / "data" / "state_store.db").exists()
    proc = EngineProcess(tmp_path, workers=workers, port=proc.port).start()
    try:
        with sdk_worker(proc.url) as w:
            values = call(w, "state::list", {"scope": "d"})
            assert values[:200] == list(range(200))
            assert call(w, "state::get", {"scope": "d", "key": "n"}) == 50
    finally:
        proc.stop()


def test_without_adapter_block_state_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    proc = EngineProcess(tmp_path, workers=[{"name": "state"}]).start()
    with sdk_worker(proc.url) as w:
        call(w, "state::set", {"scope": "s", "key": "k", "value": "kept"})
    proc.kill()
    assert (tmp_path / "data" / "state.db").exists()
    proc = EngineProcess(tmp_path, workers=[{"name": "state"}], port=proc.port).start()
    try:
        with sdk_worker(proc.url) as w:
            assert call(w, "state::get", {"scope": "s", "key": "k"}) == "kept"
    finally:
        proc.stop()
