"""The two-engine shape of the reference's bridge fixtures: a backend engine holding the data and
a front engine whose adapters forward to it over the worker protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.engine import EngineProcess, free_port

#: Short enough that the tests about outages finish quickly; the defaults are in the README.
FAST = {"connect_timeout_ms": 1500, "call_timeout_ms": 5000, "reconnect_initial_delay_ms": 50,
        "reconnect_max_delay_ms": 300}


@dataclass
class Pair:
    backend: EngineProcess
    front: EngineProcess
    backend_stream_port: int
    front_stream_port: int

    def stop(self) -> None:
        self.front.stop()
        self.backend.stop()


def bridge_block(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "bridge", "config": {"bridge_url": url, **FAST, **extra}}


def start_pair(tmp: Path, *, backend_workers: list[dict[str, Any]] | None = None,
               front_workers: list[dict[str, Any]] | None = None, front_adapters: bool = True) -> Pair:
    back_stream, front_stream = free_port(), free_port()
    (tmp / "backend").mkdir()
    (tmp / "front").mkdir()
    backend = EngineProcess(tmp / "backend", workers=[
        {"name": "iii-state", "config": {"adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}},
        {"name": "iii-stream", "config": {"port": back_stream, "host": "127.0.0.1"}},
        *(backend_workers or []),
    ]).start()
    block = bridge_block(backend.url)
    front_workers_list: list[dict[str, Any]] = []
    if front_adapters:
        front_workers_list = [
            {"name": "iii-state", "config": {"adapter": block}},
            {"name": "iii-stream", "config": {"adapter": block, "port": front_stream, "host": "127.0.0.1"}},
        ]
    front = EngineProcess(tmp / "front", workers=[*front_workers_list, *(front_workers or [])]).start()
    return Pair(backend, front, back_stream, front_stream)
