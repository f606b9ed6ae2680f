"""What the console forwards to the engine's own ports: HTTP requests from the request runner
(to iii-http) and the browser's stream WebSocket (to iii-stream), so the browser needs to
reach the console's port only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import web

#: Hop-by-hop and computed headers the runner must not forward.
_SKIP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class EngineProxy:
    def __init__(self, http_base: str, ws_url: str) -> None:
        self.http_base = http_base.rstrip("/")
        self.ws_url = ws_url
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def run_request(self, request: web.Request) -> web.Response:
        """POST /api/request {method, path, query, headers, body} -> {status, headers, body, duration_ms}."""
        spec: dict[str, Any] = await request.json()
        path = "/" + str(spec.get("path", "")).lstrip("/")
        headers = {k: str(v) for k, v in (spec.get("headers") or {}).items() if k.lower() not in _SKIP_HEADERS}
        body = spec.get("body")
        data: bytes | None = None
        if body not in (None, ""):
            data = body.encode() if isinstance(body, str) else orjson.dumps(body)
            headers.setdefault("content-type", "application/json")
        started = time.perf_counter()
        try:
            async with self.session().request(
                str(spec.get("method", "GET")).upper(), self.http_base + path,
                params={k: str(v) for k, v in (spec.get("query") or {}).items()}, headers=headers, data=data,
            ) as resp:
                raw = await resp.read()
                result = {"status": resp.status, "headers": dict(resp.headers),
                          "body": raw.decode(errors="replace"), "url": str(resp.url)}
        except aiohttp.ClientError as exc:
            result = {"status": 0, "headers": {}, "body": f"request failed: {exc}", "url": self.http_base + path}
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return web.json_response(result)

    async def stream_socket(self, request: web.Request) -> web.WebSocketResponse:
        """Pipe the browser's WebSocket to iii-stream's, frame for frame, both ways."""
        browser = web.WebSocketResponse(heartbeat=30)
        await browser.prepare(request)
        try:
            query = "?" + request.query_string if request.query_string else ""
            engine = await self.session().ws_connect(self.ws_url + query)
        except aiohttp.ClientError:
            await browser.close(code=1011, message=b"stream port unreachable")
            return browser

        async def pump(src: Any, dst: Any) -> None:
            async for msg in src:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await dst.send_str(msg.data)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    await dst.send_bytes(msg.data)
                else:
                    break

        tasks = [asyncio.create_task(pump(browser, engine)), asyncio.create_task(pump(engine, browser))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await engine.close()
        await browser.close()
        return browser
