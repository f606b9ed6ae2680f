"""B9 — stream fan-out to 1, 10, 100 and 1,000 WebSocket subscribers: the pyiii engine
(iii-stream, in-memory kv) against a raw ``websockets`` broadcast server (bench/b9_stream.py
--raw-server, ``websockets.broadcast`` of what its publisher sends) and, in run.py's runs, the
same raw server on picows and uvloop (``--raw-lib picows``: one send per subscriber; cells only).

Per subscriber count: latency publish -> last subscriber (p50/p99 over events sent 20 ms
apart, 100 ms at S=1,000), fan-out throughput (deliveries/s over a burst), and engine memory per subscriber
(RSS growth after connecting and joining the subscribers, divided by their number). Both
servers run in their own process; the publisher lives in this process and the subscribers are
split over up to 4 client processes (spec §3.2), each reporting per event the time its last
subscriber read it (CLOCK_MONOTONIC, shared by every process on the machine). The subscriber
processes use the load generator's WebSocket client (``--client``, picows on uvloop by default:
callbacks, no task per subscriber; ``websockets`` on asyncio otherwise), the same for both servers.

    python bench/b9_stream.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from common.harness import TRACING_OFF, free_port, wait_port
from websockets.asyncio.client import ClientConnection, connect

COUNTS = tuple(int(c) for c in os.environ.get("B9_COUNTS", "1,10,100,1000").split(","))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ----------------------------------------------------------------------------- the raw baseline

async def raw_server(port: int) -> None:
    from websockets.asyncio.server import broadcast, serve

    subscribers: set[Any] = set()

    async def handler(ws: Any) -> None:
        first = await ws.recv()
        if first == "publisher":
            async for message in ws:
                broadcast(subscribers, message if isinstance(message, bytes) else message.encode(), text=True)
        else:
            subscribers.add(ws)
            await ws.send("ok")
            try:
                await ws.wait_closed()
            finally:
                subscribers.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=16):
        await asyncio.Future()


async def raw_picows_server(port: int) -> None:
    """:func:`raw_server` on picows: the publisher's frames are sent to every subscriber."""
    import picows

    text = picows.WSMsgType.TEXT
    subscribers: set[Any] = set()

    class Peer(picows.WSListener):
        role = ""

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type != text:
                return
            payload = frame.get_payload_as_bytes()
            if self.role == "publisher":
                for sub in subscribers:
                    sub.send(text, payload)
            elif payload == b"publisher":
                self.role = "publisher"
            else:
                self.role = "subscriber"
                subscribers.add(transport)
                transport.send(text, b"ok")

        def on_ws_disconnected(self, transport: Any) -> None:
            subscribers.discard(transport)

    server = await picows.ws_create_server(lambda _request: Peer(), "127.0.0.1", port, max_frame_size=64 * 1024 * 1024)
    async with server:
        await server.serve_forever()


# ----------------------------------------------------------------------------- suts

class Sut:
    def __init__(self, name: str, proc: subprocess.Popen[bytes] | None, ws_port: int, engine_port: int | None) -> None:
        self.name, self.proc, self.ws_port, self.engine_port = name, proc, ws_port, engine_port
        self.publisher: ClientConnection | None = None

    async def open_publisher(self) -> None:
        if self.engine_port is not None:
            self.publisher = await connect(f"ws://127.0.0.1:{self.engine_port}", compression=None, max_size=None)
            await self.publisher.recv()  # workerregistered
        else:
            self.publisher = await connect(f"ws://127.0.0.1:{self.ws_port}", compression=None)
            await self.publisher.send("publisher")

    async def subscribe(self, group: str) -> ClientConnection:
        ws = await connect(f"ws://127.0.0.1:{self.ws_port}", compression=None, max_size=None, ping_interval=None)
        if self.engine_port is not None:
            await ws.send(json.dumps({"type": "join", "data": {"subscriptionId": "s", "streamName": "bench",
                                                               "groupId": group}}))
        else:
            await ws.send("subscriber")
        await ws.recv()  # sync / ok
        return ws

    async def publish(self, group: str, seq: int, t0: int) -> None:
        assert self.publisher is not None
        data = {"seq": seq, "t0": t0}
        if self.engine_port is not None:
            frame = {"type": "invokefunction", "function_id": "stream::send", "action": {"type": "void"},
                     "data": {"stream_name": "bench", "group_id": group, "type": "tick", "data": data}}
        else:
            frame = {"type": "stream", "streamName": "bench", "groupId": group, "id": None,
                     "event": {"type": "event", "event": {"type": "tick", "data": data}}}
        await self.publisher.send(msgspec.json.encode(frame), text=True)


#: CPUs the servers are pinned to (None: no pinning); set by run()
SUT_CPUS: str | None = None


def _pin() -> list[str]:
    return ["taskset", "-c", SUT_CPUS] if SUT_CPUS is not None else []


def start_pyiii(folder: Path) -> Sut:
    port, ws_port = free_port(), free_port()
    config = {"workers": [
        {"name": "iii-worker-manager", "config": {"port": port, "host": "127.0.0.1"}},
        {"name": "iii-stream", "config": {"port": ws_port, "host": "127.0.0.1", "ping_interval_ms": 0,
                                          "subscriber_buffer_bytes": 16 * 1024 * 1024,
                                          "adapter": {"name": "kv", "config": {"store_method": "in_memory"}}}},
        TRACING_OFF]}
    (folder / "config.yaml").write_text(json.dumps(config))
    proc = subprocess.Popen([*_pin(), sys.executable, "-m", "pyiii", "--config", str(folder / "config.yaml"),
                             "--log-level", "warning"], cwd=folder)
    wait_port(ws_port)
    wait_port(port)
    return Sut("pyiii", proc, ws_port, port)


#: raw server library -> SUT name
RAW_SUTS = {"websockets": "raw_broadcast", "picows": "raw_picows"}


def start_raw(lib: str = "websockets") -> Sut:
    port = free_port()
    proc = subprocess.Popen([*_pin(), sys.executable, __file__, "--raw-server", str(port), "--raw-lib", lib])
    wait_port(port)
    return Sut(RAW_SUTS[lib], proc, port, None)


# ----------------------------------------------------------------------------- measurement

CLIENT_PROCESSES = 4
#: WebSocket library of the subscriber processes ("picows" or "websockets"); set by run()
CLIENT_LIB = "websockets"


async def receive(ws: ClientConnection, n: int, arrivals: dict[int, int]) -> None:
    """Record, per seq, the latest arrival time among subscribers."""
    decode = msgspec.json.decode
    for _ in range(n):
        msg = decode(await ws.recv(decode=False))
        data = msg["event"]["event"]["data"]
        now = time.monotonic_ns()
        if now > arrivals.get(data["seq"], 0):
            arrivals[data["seq"]] = now


async def client_process(ws_port: int, engine: bool, group: str, count: int) -> None:
    """One of the subscriber processes: join ``count`` subscriptions, then per ``recv N`` line on
    stdin read N events on each and print ``{seq: last arrival ns}`` as one JSON line."""
    sut = Sut("client", None, ws_port, 0 if engine else None)
    subs = [await sut.subscribe(group) for _ in range(count)]
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    while line := (await stdin.readline()).decode().split():
        if line[0] != "recv":
            break
        arrivals: dict[int, int] = {}
        tasks = [asyncio.create_task(receive(ws, int(line[1]), arrivals)) for ws in subs]
        print("armed", flush=True)
        await asyncio.gather(*tasks)
        print(json.dumps(arrivals), flush=True)
    for ws in subs:
        await ws.close()


def join_frame(engine: bool, group: str) -> bytes:
    if not engine:
        return b"subscriber"
    return msgspec.json.encode({"type": "join", "data": {"subscriptionId": "s", "streamName": "bench",
                                                         "groupId": group}})


class _Board:
    """Arrivals of one ``recv N`` round over every picows subscriber of the process."""

    def __init__(self, expected: int) -> None:
        self.arrivals: dict[int, int] = {}
        self.remaining = expected
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if expected <= 0:
            self.done.set_result(None)

    def arrive(self, payload: memoryview) -> None:
        seq = msgspec.json.decode(payload)["event"]["event"]["data"]["seq"]
        now = time.monotonic_ns()
        if now > self.arrivals.get(seq, 0):
            self.arrivals[seq] = now
        self.remaining -= 1
        if self.remaining == 0 and not self.done.done():
            self.done.set_result(None)


async def picows_client_process(ws_port: int, engine: bool, group: str, count: int) -> None:
    """:func:`client_process` on picows: a callback per frame instead of a task per subscriber."""
    import picows

    board: list[_Board] = []
    text = picows.WSMsgType.TEXT

    class Subscriber(picows.WSListener):
        def __init__(self) -> None:
            self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_ws_connected(self, transport: Any) -> None:
            transport.send(text, join_frame(engine, group))

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type != text:
                return
            if not self.joined.done():  # the first frame answers the join (sync / ok)
                self.joined.set_result(None)
            elif board:
                board[0].arrive(frame.get_payload_as_memoryview())

    subs = []
    for _ in range(count):
        transport, listener = await picows.ws_connect(Subscriber, f"ws://127.0.0.1:{ws_port}",
                                                      max_frame_size=64 * 1024 * 1024)
        await listener.joined
        subs.append(transport)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    while line := (await stdin.readline()).decode().split():
        if line[0] != "recv":
            break
        board[:] = [_Board(int(line[1]) * count)]
        print("armed", flush=True)
        await board[0].done
        print(json.dumps(board[0].arrivals), flush=True)
    for transport in subs:
        transport.disconnect()


class Clients:
    """The subscriber processes of one cell."""

    def __init__(self, procs: list[asyncio.subprocess.Process]) -> None:
        self.procs = procs

    @classmethod
    async def start(cls, sut: Sut, group: str, count: int) -> Clients:
        n = min(CLIENT_PROCESSES, count)
        shares = [count // n + (1 if i < count % n else 0) for i in range(n)]
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--clients", str(sut.ws_port), "engine" if sut.engine_port else "raw",
            group, str(share), CLIENT_LIB, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            for share in shares]
        clients = cls(procs)
        await clients._expect_line("ready", 120)
        return clients

    async def _expect_line(self, word: str, timeout: float) -> list[str]:
        async def one(proc: asyncio.subprocess.Process) -> str:
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode().strip()
            if word and line != word:
                raise RuntimeError(f"b9 client process said {line!r}, expected {word!r}")
            return line
        return list(await asyncio.wait_for(asyncio.gather(*(one(p) for p in self.procs)), timeout))

    async def arm(self, n: int) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"recv {n}\n".encode())
        await self._expect_line("armed", 30)

    async def arrivals(self, timeout: float) -> dict[int, int]:
        merged: dict[int, int] = {}
        for line in await self._expect_line("", timeout):
            for seq, t in json.loads(line).items():
                merged[int(seq)] = max(merged.get(int(seq), 0), t)
        return merged

    async def close(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def cell(sut: Sut, count: int, events: int, burst: int) -> dict[str, Any]:
    group = f"g{count}-{time.monotonic_ns()}"
    assert sut.proc is not None
    before = rss_kb(sut.proc.pid)
    clients = await Clients.start(sut, group, count)
    await asyncio.sleep(0.3)
    after = rss_kb(sut.proc.pid)
    try:
        # latency: spaced events, at most 50 updates/s and 10,000 deliveries/s (S=1,000: 10
        # updates/s, the low end of the spec's 10–1,000), so that it measures delivery latency,
        # not a backlog growing past either server's saturation (~10–25k deliveries/s here)
        sent: dict[int, int] = {}
        interval = max(0.02, count / 10_000)
        await clients.arm(events)
        for seq in range(events):
            sent[seq] = time.monotonic_ns()
            await sut.publish(group, seq, sent[seq])
            await asyncio.sleep(interval)
        arrivals = await clients.arrivals(60)
        lat = sorted((arrivals[s] - sent[s]) / 1e6 for s in sent)
        # throughput: a burst, from the first publish to the last delivery
        await clients.arm(burst)
        c0 = _cpu_ms(sut.proc.pid)
        t = time.monotonic_ns()
        for seq in range(burst):
            await sut.publish(group, seq, 0)
        arrivals2 = await clients.arrivals(120)
        elapsed = (max(arrivals2.values()) - t) / 1e9
        cpu = (_cpu_ms(sut.proc.pid) - c0) / (burst * count) * 1000
        return {"cpu_ms_per_1k": round(cpu, 2),
            "p50_ms": round(lat[len(lat) // 2], 2), "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
            "deliveries_per_s": round(burst * count / elapsed),
            "rss_kb_per_subscriber": round((after - before) / count, 1),
        }
    finally:
        await clients.close()


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


async def main(quick: bool) -> dict[str, Any]:
    events, burst = (30, 100) if quick else (200, 1000)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        suts = [start_pyiii(Path(tmp)), start_raw()]
        try:
            for sut in suts:
                await sut.open_publisher()
            for count in COUNTS:
                for sut in suts:
                    results[f"{sut.name}/{count}"] = await cell(sut, count, events, burst)
                    print(sut.name, count, results[f"{sut.name}/{count}"], flush=True)
                ours, raw = results[f"pyiii/{count}"], results[f"raw_broadcast/{count}"]
                ratio = ours["deliveries_per_s"] / raw["deliveries_per_s"]
                results[f"ratio_throughput/{count}"] = round(ratio, 2)
        finally:
            for sut in suts:
                assert sut.proc is not None
                sut.proc.kill()
                sut.proc.wait()
    return results


# ================================================================ the run.py contract

NAME = "b9_stream"
NAMES = ("pyiii", *RAW_SUTS.values())


async def _rounds(opts: Any, counts: tuple[int, ...], events: int, burst: int) -> dict[str, list[dict[str, Any]]]:
    import random

    import common.harness as H

    rng = random.Random(opts.seed)
    out: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        suts = [start_pyiii(Path(tmp)), start_raw(), start_raw("picows")]
        try:
            for sut in suts:
                await sut.open_publisher()
            for r in range(opts.n_rounds):
                for count in counts:
                    for sut in H.shuffled(suts, rng):
                        res = await cell(sut, count, events, burst)
                        out.setdefault(f"{sut.name}/S{count}", []).append(res)
                        H.log(opts, f"  b9 round {r + 1} {sut.name:13s} S={count:<5d} {res}")
        finally:
            for sut in suts:
                assert sut.proc is not None
                sut.proc.kill()
                sut.proc.wait()
    return out


def run(opts: Any) -> dict[str, Any]:
    import resource

    import common.harness as H
    from common.cells import target_row, targets_table, value_row

    global SUT_CPUS, CLIENT_LIB
    SUT_CPUS = opts.sut_cpus
    CLIENT_LIB = opts.client
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    counts = opts.pick((1, 10, 100, 1000), (1, 10, 100, 1000), (1, 10))
    events, burst = opts.pick((200, 1000), (30, 100), (10, 20))
    raw = asyncio.run(_rounds(opts, counts, events, burst))
    cells: dict[str, Any] = {}
    for key, rs in raw.items():
        cells[key] = {m: H.summarize([x[m] for x in rs]) for m in rs[0]}
        cells[key]["value"] = cells[key]["deliveries_per_s"]["median"]

    def ser(key: str, m: str) -> list[float]:
        return [float(x[m]) for x in raw.get(key, [])]

    top = counts[-1]
    targets = [
        target_row(f"deliveries/s at S={top:,} vs raw broadcast", H.ratio(ser(f"pyiii/S{top}", "deliveries_per_s"),
                                                                        ser(f"raw_broadcast/S{top}",
                                                                            "deliveries_per_s")), 0.7, 0.5,
                   higher=True),
        target_row(f"CPU per delivery at S={top:,} vs raw broadcast", H.ratio(ser(f"pyiii/S{top}", "cpu_ms_per_1k"),
                                                                            ser(f"raw_broadcast/S{top}",
                                                                                "cpu_ms_per_1k")), 1.3, None),
        value_row(f"publish → last subscriber p99 at S={top:,}", H.median(ser(f"pyiii/S{top}", "p99_ms")) / 1000,
                  0.050, 0.200, unit="ms", scale=1000),
        value_row(f"RSS per subscriber at S={top:,}", H.median(ser(f"pyiii/S{top}", "rss_kb_per_subscriber")), 40,
                  None, unit="KB"),
    ]
    lines = ["| S | SUT | p50 | p99 | deliveries/s | CPU-ms / 1k deliveries | RSS KB / subscriber |",
             "|---|---|---|---|---|---|---|"]
    for count in counts:
        for name in NAMES:
            c = cells[f"{name}/S{count}"]
            lines.append(f"| {count:,} | {name} | {c['p50_ms']['median']:.2f} ms | {c['p99_ms']['median']:.2f} ms | "
                         f"{c['deliveries_per_s']['median']:,.0f} | {c['cpu_ms_per_1k']['median']:.1f} | "
                         f"{c['rss_kb_per_subscriber']['median']:.1f} |")
    plot = {"title": "B9 stream fan-out: deliveries/s vs subscribers", "xlabel": "subscribers S",
            "ylabel": "deliveries/s", "logx": True,
            "lines": {name: [[c, cells[f"{name}/S{c}"]["deliveries_per_s"]["median"]] for c in counts]
                      for name in NAMES}}
    return {"cells": cells, "expected": [f"{n}/S{c}" for n in NAMES for c in counts],
            "targets": targets, "plot": plot,
            "params": {"counts": counts, "events": events, "burst": burst,
                       "clients": f"subscribers split over up to {CLIENT_PROCESSES} client processes",
                       "client_lib": CLIENT_LIB},
            "table": "\n".join(lines) + "\n\n" + targets_table(targets)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--raw-server", type=int)
    ap.add_argument("--raw-lib", choices=list(RAW_SUTS), default="websockets")
    ap.add_argument("--clients", nargs=5, metavar=("WS_PORT", "KIND", "GROUP", "COUNT", "LIB"))
    args = ap.parse_args()
    if args.clients:
        port, kind, group, count, lib = args.clients
        if lib == "picows":
            import uvloop

            uvloop.run(picows_client_process(int(port), kind == "engine", group, int(count)))
        else:
            asyncio.run(client_process(int(port), kind == "engine", group, int(count)))
        sys.exit(0)
    if args.raw_server:
        if args.raw_lib == "picows":
            import uvloop

            uvloop.run(raw_picows_server(args.raw_server))
        else:
            asyncio.run(raw_server(args.raw_server))
        sys.exit(0)
    out = asyncio.run(main(args.quick))
    print(json.dumps(out, indent=2))
    target = Path(__file__).parent / "results" / "b9_stream.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=2))
