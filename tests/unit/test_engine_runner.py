"""``pyiii.engine_runner.serve``: the start / banner / SIGINT-SIGTERM loop shared by ``pyiii`` and
``pyiii dev/start``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest

from pyiii.engine_config import parse
from pyiii.engine_runner import InProcessEngine, serve
from tests.support.engine import free_port


def _config(port: int) -> str:
    return f"workers:\n  - name: iii-worker-manager\n    config: {{port: {port}, host: 127.0.0.1}}\n"


class Recorder:
    def __init__(self, events: list[str], url: str, started: asyncio.Event | None = None) -> None:
        self.events = events
        self.started = started
        self.events.append(f"made {url}")

    async def start(self) -> None:
        self.events.append("start")
        if self.started is not None:
            self.started.set()

    async def stop(self) -> None:
        self.events.append("stop")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serve_prints_the_banner_then_stops_on_a_signal(
    sig: signal.Signals, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    process = InProcessEngine(parse(_config(port)), project_dir=tmp_path)
    events: list[str] = []
    started = asyncio.Event()

    async def signal_once_up() -> None:
        await started.wait()  # the companion starts after the engine and the banner
        assert process.engine.ready
        os.kill(os.getpid(), sig)

    poke = asyncio.create_task(signal_once_up())
    status = await asyncio.wait_for(serve(process, grace=1, companion=lambda url: Recorder(events, url, started)), 10)
    await poke
    assert status == 0
    assert events == [f"made ws://127.0.0.1:{port}", "start", "stop"]
    banner = capsys.readouterr().err
    assert "pyiii " in banner and " ready in " in banner and f"ws://127.0.0.1:{port}" in banner
    assert process.engine.stopping


async def test_serve_returns_1_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        events: list[str] = []
        process = InProcessEngine(parse(_config(port)), project_dir=tmp_path)
        status = await asyncio.wait_for(serve(process, grace=1, companion=lambda url: Recorder(events, url)), 10)
    assert status == 1
    assert events == []


async def test_a_worker_is_replaced_in_the_running_engine(tmp_path: Path) -> None:
    """``pyiii dev`` applies a config.yaml edit of iii-http/iii-cron in place: the old worker's trigger
    type is taken back (its bindings parked, same ids), the new one re-arms them."""
    config = parse("workers:\n  - name: iii-worker-manager\n    config: {port: 0}\n"
                   "  - name: iii-http\n    config: {port: 0}\n  - name: iii-cron\n")
    process = InProcessEngine(config, project_dir=tmp_path)
    await process.start()
    try:
        engine = process.engine
        binding = await engine.register_trigger("cron", "app::tick", {"expression": "0 0 1 1 * *"})
        old = next(w for w in process.workers if w.kind == "iii-cron")
        await process.remove_workers({"iii-cron"})
        assert "cron" not in engine.triggers.types and binding in engine.triggers.parked
        assert old not in process.workers and all(e.kind != "iii-cron" for e in config.workers)

        entries = [e for e in parse("workers:\n  - name: iii-cron\n").workers if e.kind == "iii-cron"]
        [new] = await process.add_workers(entries)
        assert new is not old and engine.triggers.types["cron"].provider is new
        assert binding in engine.triggers.live and binding not in engine.triggers.parked
        assert [e.kind for e in config.workers].count("iii-cron") == 1
    finally:
        await process.stop(1)


async def test_workers_added_by_a_failed_call_are_taken_back(tmp_path: Path) -> None:
    from pyiii.engine_runner import ListenError

    process = InProcessEngine(parse("workers:\n  - name: iii-worker-manager\n    config: {port: 0}\n"),
                            project_dir=tmp_path)
    await process.start()
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            text = f"workers:\n  - name: iii-cron\n  - name: iii-http\n    config: {{port: {busy}}}\n"
            entries = [e for e in parse(text).workers if e.kind in ("iii-cron", "iii-http")]
            with pytest.raises(ListenError) as failed:
                await process.add_workers(entries)
        assert f"cannot start iii-http: port {busy}" in failed.value.one_line()
        assert "cron" not in process.engine.triggers.types and "iii-cron" not in process.engine.in_process_workers
        assert [w.kind for w in process.workers] == [e.kind for e in process.config.workers]
    finally:
        await process.stop(1)
