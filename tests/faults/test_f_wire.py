"""F6 (malformed WebSocket frames, handshake abuse), F7 (oversized messages), F8 (invalid JSON /
unknown types fuzz) and F15 (connection churn) against a real engine process."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
from pathlib import Path
from typing import Any

from tests.faults.support import FULL, RESULTS, SEED
from tests.support.engine import EngineProcess, free_port
from tests.support.fuzz_frames import mutated_frames
from tests.support.procstat import fd_count, rss_kb
from tests.support.waiting import eventually
from tests.support.wire import RawWorker
from tests.support.wsraw import close_code, frame, upgrade

HANDSHAKE_MS = 500


def _engine(tmp_path: Path, **listener: Any) -> tuple[EngineProcess, int]:
    port = free_port()
    cfg = {"port": port, "host": "127.0.0.1", "handshake_timeout_ms": HANDSHAKE_MS, **listener}
    return EngineProcess(tmp_path, workers=[{"name": "iii-worker-manager", "config": cfg}]).start(), port


async def test_f6_malformed_frames_closed_with_the_right_code(tmp_path: Path) -> None:
    engine, port = _engine(tmp_path)
    bystander = await RawWorker.connect(f"ws://127.0.0.1:{port}")
    cases = {
        "reserved opcode": (frame(0x3, b"x"), 1002),
        "unmasked client frame": (frame(0x1, b"{}", mask=False), 1002),
        "fragmented control frame": (frame(0x9, b"p", fin=False), 1002),
        "2^63 length header": (frame(0x2, b"", length=(1 << 63) - 1), 1009),
    }
    try:
        for name, (raw, expected) in cases.items():
            reader, writer = await upgrade(port)
            writer.write(raw)
            try:
                code = await close_code(reader)
            except asyncio.IncompleteReadError:
                code = None
            assert code == expected, f"{name}: closed with {code}, expected {expected}"
            writer.close()
        # Invalid UTF-8 in a text frame: pyiii reads frames as bytes (no UTF-8 pass on the hot
        # path), so it is dropped as malformed JSON (spec §1.6) and the connection keeps serving.
        w = await RawWorker.connect(f"ws://127.0.0.1:{port}")
        await w.ws.send(b"\xff\xfe{", text=True)
        await w.send({"type": "ping"})
        await w.expect("pong")
        await w.close()
        # ping flood: answered, nothing breaks
        reader, writer = await upgrade(port)
        for _ in range(2000):
            writer.write(frame(0x9, b"flood"))
        await writer.drain()
        writer.close()
        assert (await bystander.call("engine::functions::list", {}))["result"]["functions"] is not None
        assert engine.proc is not None and engine.proc.poll() is None
    finally:
        await bystander.close()
        engine.stop()


async def settled_fd_count(pid: int) -> int:
    """The engine's open fd count once it stops changing (start-up opens files and sockets)."""
    seen = [-1]

    def stable() -> bool:  # two polls 0.15 s apart see the same count
        count = fd_count(pid)
        same = count == seen[0]
        seen[0] = count
        return same

    await eventually(stable, 10, 0.15, what="the engine's fd count to settle")
    return seen[0]


async def test_f6_slowloris_and_garbage_closed_at_the_handshake_deadline(tmp_path: Path) -> None:
    engine, port = _engine(tmp_path)
    pid = engine.proc.pid  # type: ignore[union-attr]
    try:
        baseline = await settled_fd_count(pid)
        socks = []
        for i in range(50):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"GET / HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"\x16\x03\x01garbage-not-http\r\n")
            socks.append((r, w))
        loop = asyncio.get_running_loop()
        started = loop.time()
        for r, _ in socks:
            async with asyncio.timeout(HANDSHAKE_MS / 1000 + 2):
                while await r.read(4096):
                    pass  # a garbage request gets a 400 first, then EOF
        held = loop.time() - started
        for _, w in socks:
            w.close()
        assert held <= HANDSHAKE_MS / 1000 + 2
        await eventually(lambda: fd_count(pid) <= baseline, 5, 0.05, what=f"the engine's fds back to {baseline}")
    finally:
        engine.stop()


async def test_f7_oversized_message_closed_1009_without_buffering(tmp_path: Path) -> None:
    limit = 1 << 20
    engine, port = _engine(tmp_path, max_frame_bytes=limit)
    pid = engine.proc.pid  # type: ignore[union-attr]
    try:
        rss_before = rss_kb(pid)
        reader, writer = await upgrade(port)
        header_only = frame(0x1, b"", length=64 * limit)[:-4]  # announce 64 MiB, send nothing
        writer.write(header_only + os.urandom(4))
        assert await close_code(reader) == 1009
        writer.close()
        reader, writer = await upgrade(port)
        writer.write(frame(0x1, b'"' + b"a" * limit + b'"'))  # just over the limit
        assert await close_code(reader) == 1009
        writer.close()
        ok = await RawWorker.connect(f"ws://127.0.0.1:{port}")
        at_limit = "x" * (limit - 200)
        await ok.send({"type": "ping", "pad": at_limit})  # under the limit: served
        await ok.expect("pong")
        await ok.close()
        assert rss_kb(pid) - rss_before <= 2 * limit // 1024 + 8_000
    finally:
        engine.stop()


async def test_f8_fuzzed_frames_never_crash_or_hang(tmp_path: Path) -> None:
    n = 1_000_000 if FULL else 3_000
    engine, port = _engine(tmp_path)
    w = await RawWorker.connect(f"ws://127.0.0.1:{port}")
    rng = random.Random(SEED)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        frames = mutated_frames(rng, n)
        for i, frame in enumerate(frames):
            await w.ws.send(frame, text=False) if i % 2 else await w.ws.send(frame.decode("utf-8", "replace"))
            if i % 500 == 0:
                await w.send({"type": "ping"})
                await w.expect("pong", timeout=10)  # no hang: the engine keeps up
        await w.send({"type": "ping"})
        await w.expect("pong", timeout=10)
        took = loop.time() - started
        assert engine.proc is not None and engine.proc.poll() is None
        assert "Traceback" not in engine.logs()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F8-seed{SEED}.json").write_text(json.dumps({"frames": n, "crashes": 0, "seconds": round(took, 1),
                                                                  "per_frame_us": round(took / n * 1e6, 1)}))
    finally:
        await w.close()
        engine.stop()


async def test_f15_connection_churn_returns_fds_and_limit_refuses(tmp_path: Path) -> None:
    churn = 5_000 if FULL else 300
    engine, port = _engine(tmp_path, max_connections=50)
    pid = engine.proc.pid  # type: ignore[union-attr]
    observer = await RawWorker.connect(engine.url)
    try:
        baseline_fd, baseline_rss = await settled_fd_count(pid), rss_kb(pid)
        for i in range(churn):
            c = await RawWorker.connect(f"ws://127.0.0.1:{port}")
            await c.register(f"churn::{i % 10}")
            if i % 3 == 0:
                c.ws.transport.abort()  # abrupt drop, no close frame
                c._reader.cancel()
            else:
                await c.close()
        await eventually(lambda: fd_count(pid) <= baseline_fd, 10, 0.1, what=f"the engine's fds back to {baseline_fd}")
        res = await observer.call("engine::functions::list", {})
        assert not [f for f in res["result"]["functions"] if f["function_id"].startswith("churn::")]
        assert rss_kb(pid) <= baseline_rss * 1.5 + 10_000
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"F15-seed{SEED}.json").write_text(json.dumps(
            {"connections": churn, "fd_baseline": baseline_fd, "fd_after": fd_count(pid),
             "rss_kb_baseline": baseline_rss, "rss_kb_after": rss_kb(pid)}))
    finally:
        await observer.close()
        engine.stop()


def test_socket_module_available() -> None:
    assert socket.SOCK_STREAM
