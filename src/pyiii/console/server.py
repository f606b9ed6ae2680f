"""The console's HTTP server: static UI, the JSON API and the engine proxies (aiohttp)."""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from pyiii._version import __version__
from pyiii.console.api import ConsoleApi
from pyiii.console.caller import Caller
from pyiii.console.guard import ConsoleGuard
from pyiii.console.namespaces import DEFAULT_MAX_NAMESPACE_CHARS
from pyiii.console.proxy import EngineProxy
from pyiii.hosts import is_loopback

STATIC = Path(str(resources.files("pyiii.console") / "static"))
STREAM_CLIENT = Path(str(resources.files("pyiii") / "static" / "stream-client.js"))


class ConsoleServer:
    def __init__(self, caller: Caller, *, host: str, port: int, engine_url: str, http_base: str, ws_url: str,
                 token: str | None = None, allowed_hosts: list[str] | None = None,
                 allowed_origins: list[str] | None = None,
                 max_namespace_chars: int = DEFAULT_MAX_NAMESPACE_CHARS) -> None:
        self.caller = caller
        self.host, self.port = host, port
        if token is None and not is_loopback(host):
            # Reachable from other machines: never without a token (printed with the URL).
            token = secrets.token_urlsafe(24)
        self.token = token
        self.guard = ConsoleGuard(port=port, token=token, allowed_hosts=allowed_hosts or [],
                                  allowed_origins=allowed_origins or [])
        self.proxy = EngineProxy(http_base, ws_url)
        settings = {"version": __version__, "engineUrl": engine_url, "httpBase": http_base,
                    "streamsUrl": ws_url, "consolePort": port}
        self.api = ConsoleApi(caller, settings, max_namespace_chars)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self.guard.middleware])
        app.on_response_prepare.append(self.guard.add_headers)
        app.add_routes(self.api.routes())
        app.add_routes([
            web.post("/api/request", self.proxy.run_request),
            web.get("/ws/streams", self.proxy.stream_socket),
            web.get("/lib/stream-client.js", self._stream_client),
            web.get("/", self._index),
            web.static("/static", STATIC),
        ])
        return app

    async def _index(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    async def _stream_client(self, _: web.Request) -> web.StreamResponse:
        return web.FileResponse(STREAM_CLIENT, headers={"content-type": "text/javascript"})

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def login_url(self) -> str:
        """The URL to open once: it carries the token when there is one."""
        return f"{self.url}?token={self.token}" if self.token else self.url

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        await self.proxy.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.caller.close()


def engine_addresses(engine_host: str, http_port: int | None, ws_port: int | None) -> dict[str, Any]:
    return {"http_base": f"http://{engine_host}:{http_port or 3111}",
            "ws_url": f"ws://{engine_host}:{ws_port or 3112}/"}
