"""``pyiii console``: serve the console against any running engine, over the worker WebSocket."""

from __future__ import annotations

import asyncio
import signal
import sys
from urllib.parse import urlparse

from pyiii.console.caller import SdkCaller
from pyiii.console.server import ConsoleServer, engine_addresses


async def run_console(engine_url: str, *, host: str, port: int, http_port: int | None, ws_port: int | None,
                      token: str | None = None, allowed_hosts: list[str] | None = None) -> int:
    engine_host = urlparse(engine_url).hostname or "127.0.0.1"
    server = ConsoleServer(SdkCaller(engine_url), host=host, port=port, engine_url=engine_url,
                           **engine_addresses(engine_host, http_port, ws_port), token=token,
                           allowed_hosts=allowed_hosts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except OSError as exc:
        print(f"pyiii console: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        await server.caller.close()
        return 1
    print(f"iii console on {server.login_url} (engine {engine_url})", file=sys.stderr, flush=True)
    await stop.wait()
    await server.stop()
    return 0
