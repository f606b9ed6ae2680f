"""pyiii.sdk's own CPU per HTTP-shaped invocation, in process: no engine, no socket, no loop
wake-up, only what the SDK runs for one ``invokefunction`` (decode, channel refs, invocation and
trace context, handler, result frame). A focused companion of bench/sdk_worker_cpu_http.py.

A client of ``--src`` (connecting nowhere) has bench/echo_worker_py.py's echo registered; on its
loop, frames shaped like the ones iii-http sends are fed to it one at a time and each result is
taken by a fake link. Prints the loop thread's CPU µs per invocation for each round. For a count
that other load on the machine does not move, run it under callgrind at two ``--calls`` values
and divide the difference of the instruction counts by the difference of the calls:

    python bench/sdk_invoke_cpu.py --src src --calls 20000 --rounds 5
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/sdk_invoke_cpu.py --src src --calls 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time


class FakeLink:
    """Stands in for the connection: takes the result frame and wakes the driver."""

    generation = 1

    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def send(self, frame: bytes, requeue: bool = False) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(frame)


def http_frame(i: int) -> bytes:
    """An ``invokefunction`` as iii-http sends it for bench/loadgen.py's POST /echo."""
    return json.dumps({
        "type": "invokefunction", "function_id": "bench::echo", "invocation_id": f"00000000-0000-4000-8000-{i:012d}",
        "data": {"query_params": {}, "path_params": {},
                 "headers": {"host": "127.0.0.1:8080", "content-type": "application/json", "content-length": "100"},
                 "path": "echo", "method": "POST", "body": {"message": "x" * 70, "n": 12345},
                 "trigger": {"type": "http", "path": "echo", "method": "POST"},
                 "request_body": {"channel_id": f"r{i}", "access_key": "k/+=a", "direction": "read"},
                 "response": {"channel_id": f"w{i}", "access_key": "k/+=b", "direction": "write"}},
    }, separators=(",", ":")).encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="the pyiii src folder to import pyiii.sdk from")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    os.environ.setdefault("OTEL_ENABLED", "false")
    sys.path.insert(0, os.path.abspath(a.src))
    logging.disable(logging.WARNING)  # the client's failed connection attempts
    from echo_worker_py import echo  # bench/ is on sys.path when run as a script

    from pyiii.sdk import InitOptions
    from pyiii.sdk.client import III
    from pyiii.sdk.options import ReconnectionConfig

    client = III("ws://127.0.0.1:1", InitOptions(
        worker_name="bench-invoke-cpu", enable_metrics_reporting=False,
        reconnection_config=ReconnectionConfig(initial_delay_ms=60_000, max_delay_ms=60_000)))
    client.register_function("bench::echo", echo)
    link = FakeLink()
    frames = [http_frame(i) for i in range(1000)]

    async def run(calls: int) -> float:
        client._link = link  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        started = time.thread_time()
        for i in range(calls):
            link.waiter = loop.create_future()
            client._on_frame(frames[i % len(frames)])
            await link.waiter
        return (time.thread_time() - started) / calls * 1e6

    results: list[float] = []
    for _ in range(a.rounds):
        results.append(asyncio.run_coroutine_threadsafe(run(a.calls), client._loop).result())
    print(f"{a.src}: µs per invocation " + " ".join(f"{r:.2f}" for r in results)
          + f" median {statistics.median(results):.2f}", flush=True)
    client._link = None
    os._exit(0)  # the client's thread would keep retrying its connection


if __name__ == "__main__":
    raise SystemExit(main())
