"""A closed-loop HTTP/1.1 load generator: c keep-alive connections, each sending back to back.

Run in its own process (``python bench/loadgen.py URL PATH C SECONDS``); prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def _connection(host: str, port: int, request: bytes, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def run(host: str, port: int, path: str, concurrency: int, seconds: float) -> dict[str, float]:
    body = json.dumps({"message": "x" * 70, "n": 12345}).encode()  # ~100 B JSON
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    warm: list[float] = []
    warm_stop = time.perf_counter() + min(0.5, seconds / 4)
    await asyncio.gather(*(_connection(host, port, request, warm_stop, warm) for _ in range(concurrency)))
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_connection(host, port, request, stop_at, latencies) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {"c": concurrency, "requests": n, "total_requests": n + len(warm), "rps": round(n / elapsed, 1),
            "p50_ms": round(latencies[n // 2] * 1000, 3) if n else -1,
            "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 3) if n else -1}


if __name__ == "__main__":
    host_port, path, c, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    host, _, port = host_port.partition(":")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(host, int(port), path, c, secs))))
