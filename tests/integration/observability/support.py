"""Helpers for the observability tests: an engine with iii-observability configured, worker
processes (official Python, official Node, pyiii.sdk) and polling queries."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support.engine import REPO, EngineProcess
from tests.support.node_sdk import node_sdk_dir
from tests.support.waiting import eventually
from tests.support.wire import RawWorker

HERE = Path(__file__).parent
def obs_engine(workdir: Path, **config: Any) -> EngineProcess:
    block = {"enabled": True, "exporter": "memory", "metrics_enabled": True, "logs_console_output": False, **config}
    return EngineProcess(workdir, workers=[{"name": "iii-observability", "config": block}])


def worker_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = f"{REPO / 'src'}{os.pathsep}{REPO}"
    env.update(extra)
    return env


def start_script(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start a worker process and wait for it to print READY."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.strip() == "READY":
            # Keep draining so a chatty worker never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
    raise RuntimeError("worker did not start:\n" + "".join(lines))


def python_worker(script: str, url: str, **env: str) -> subprocess.Popen[str]:
    # The official Python SDK opens /otel on III_URL (not on the worker address): spec §9.3.
    return start_script([sys.executable, str(HERE / script), url], worker_env(III_URL=url, **env))


def node_worker(script: str, url: str, **env: str) -> subprocess.Popen[str]:
    sdk = node_sdk_dir() / "node_modules" / "iii-sdk"  # installs it, or skips loudly without node
    return start_script(["node", str(HERE / script), url, str(sdk)], worker_env(**env))


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


async def result(client: RawWorker, function_id: str, data: Any = None, **extra: Any) -> Any:
    frame = await client.call(function_id, data, **extra)
    assert "error" not in frame, frame
    return frame.get("result")


async def call_until(client: RawWorker, function_id: str, data: Any, check: Any, timeout: float = 10.0) -> Any:
    """Call ``function_id`` until ``check(result)`` is truthy (data reaches the store
    asynchronously); return that result. An error answer fails at once."""
    last: list[Any] = [None]

    async def probe() -> Any:
        last[0] = await result(client, function_id, data)
        return check(last[0])

    await eventually(probe, timeout, 0.05, what=f"{function_id}({data!r}) to pass its check", retry_on=())
    return last[0]


def otlp_spans(spans: list[dict[str, Any]], service: str = "test-svc") -> bytes:
    """An ``OTLP`` frame as the official SDKs write it (hex ids, string times)."""
    import json

    return b"OTLP" + json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "test", "version": "1"}, "spans": spans}],
    }]}).encode()


def span_json(trace_id: str, span_id: str, name: str, parent: str | None = None, start_ms: int = 0,
              duration_ms: int = 5, error: bool = False, **attributes: str) -> dict[str, Any]:
    import time

    start = (start_ms or int(time.time() * 1000)) * 1_000_000
    span: dict[str, Any] = {
        "traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + duration_ms * 1_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        "events": [], "links": [], "status": {"code": 2 if error else 1, "message": "boom" if error else ""},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def otlp_logs(records: list[tuple[str, int, str | None]], service: str = "test-svc") -> bytes:
    """``LOGS`` frame; records are ``(body, severity_number, trace_id)``."""
    import json
    import time

    now = str(time.time_ns())
    items = []
    for body, severity, trace_id in records:
        item: dict[str, Any] = {"timeUnixNano": now, "observedTimeUnixNano": now, "severityNumber": severity,
                                "severityText": "", "body": {"stringValue": body},
                                "attributes": [{"key": "k", "value": {"intValue": "3"}}]}
        if trace_id:
            item["traceId"] = trace_id
            item["spanId"] = "1" * 16
        items.append(item)
    return b"LOGS" + json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "test"}, "logRecords": items}]}]}).encode()


async def send_otel(url: str, *frames: bytes) -> None:
    """Send binary telemetry frames on a fresh /otel connection."""
    from websockets.asyncio.client import connect

    async with connect(url + "/otel") as ws:
        for frame in frames:
            await ws.send(frame)
