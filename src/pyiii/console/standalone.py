"""``pyiii console``: serve the console against any running engine, over the worker WebSocket.

Here the console is a remote worker like any other, so it connects with pyiii.sdk: the one
console module that imports the SDK (the built-in console calls in-process, see caller.py).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any
from urllib.parse import urlparse

from pyiii.console.caller import DEFAULT_TIMEOUT_S, CallFailed
from pyiii.console.server import ConsoleServer, engine_addresses
from pyiii.sdk import InitOptions, InvocationError, register_worker


class SdkCaller:
    """A worker named ``iii-console`` connected with pyiii.sdk (the engine lists it)."""

    def __init__(self, url: str) -> None:
        self.client = register_worker(url, InitOptions(worker_name="iii-console"))

    async def call(self, function_id: str, payload: Any, timeout: float = DEFAULT_TIMEOUT_S, *,
                   namespace: str | None = None) -> Any:
        request = {"function_id": function_id, "payload": payload, "timeout_ms": int(timeout * 1000)}
        if namespace is not None:  # the SDK sends it on the invokefunction frame (0.23+ wire)
            request["namespace"] = namespace
        try:
            return await self.client.trigger_async(request)
        except InvocationError as exc:
            raise CallFailed(str(exc.code), str(exc.message)) from None

    async def close(self) -> None:
        await self.client.shutdown_async()


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
