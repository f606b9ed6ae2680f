"""The SQLite store survives a clean restart and a kill -9, and keeps to its count caps."""

from __future__ import annotations

import os
import uuid

from tests.integration.observability.support import (
    call_until,
    obs_engine,
    otlp_logs,
    otlp_spans,
    result,
    send_otel,
    span_json,
)
from tests.support.wire import RawWorker


async def test_sqlite_store_survives_restart_and_respects_caps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = obs_engine(tmp_path, store="sqlite", store_path="telemetry/obs.db", max_spans=50, max_logs=20).start()
    trace = uuid.uuid4().hex
    spans = [span_json(trace, os.urandom(8).hex(), f"span {i}", start_ms=1_700_000_000_000 + i) for i in range(120)]
    logs = [(f"log {i}", 9, trace) for i in range(60)]
    all_spans = {"trace_id": trace, "search_all_spans": True, "limit": 1000}
    try:
        await send_otel(proc.url, otlp_spans(spans[:60]), otlp_spans(spans[60:]), otlp_logs(logs))
        client = await RawWorker.connect(proc.url)
        stored = await call_until(client, "engine::traces::list", all_spans,
                                  lambda r: r["total"] == 50 and r["spans"][-1]["name"] == "span 119")
        assert [s["name"] for s in stored["spans"]] == [f"span {i}" for i in range(70, 120)]  # the newest 50
        stored_logs = await call_until(client, "engine::logs::list", {"trace_id": trace},
                                       lambda r: r["total"] == 20 and r["logs"][0]["body"] == "log 59")
        assert stored_logs["logs"][0]["body"] == "log 59"
        health = await result(client, "engine::health::check", {})
        assert health["components"]["spans"]["details"]["store"] == "sqlite"
        await client.close()
        assert (tmp_path / "telemetry" / "obs.db").exists()

        proc.stop()
        proc.start()
        client = await RawWorker.connect(proc.url)
        after = await result(client, "engine::traces::list", all_spans)
        assert after["total"] == 50 and after["spans"][-1]["name"] == "span 119"
        # Engine log lines of the restart count against the same cap and push the oldest out.
        assert (await result(client, "engine::logs::list", {}))["total"] == 20
        kept = (await result(client, "engine::logs::list", {"trace_id": trace}))["logs"]
        assert kept and [lg["body"] for lg in kept] == [f"log {i}" for i in range(59, 59 - len(kept), -1)]
        tree = await result(client, "engine::traces::tree", {"trace_id": trace})
        assert len(tree["roots"]) == 50
        late = span_json(trace, os.urandom(8).hex(), "late", start_ms=1_800_000_000_000)
        await send_otel(proc.url, otlp_spans([late]))
        await call_until(client, "engine::traces::list", {**all_spans, "name": "late"}, lambda r: r["total"] == 1)
        await client.close()

        proc.kill()
        proc.start()
        client = await RawWorker.connect(proc.url)
        survived = await result(client, "engine::traces::list", all_spans)
        assert survived["total"] == 50 and survived["spans"][-1]["name"] == "late"
        await client.close()
    finally:
        proc.stop()
