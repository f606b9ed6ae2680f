"""One HTTP-invoked function: the outgoing request and the mapping of its answer (spec §5)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
import orjson

from pyiii import protocol as p
from pyiii.core import CallContext, FunctionError
from pyiii.workers.http_functions.auth import ResolvedAuth
from pyiii.workers.http_functions.url_guard import UrlGuard, UrlRejected


class ResponseTooLarge(Exception):
    pass


@dataclass(slots=True)
class HttpFunction:
    function_id: str
    invocation: p.HttpInvocationRef
    auth: ResolvedAuth | None
    guard: UrlGuard
    client: httpx.AsyncClient
    timeout: float
    max_response_bytes: int

    async def __call__(self, data: Any, ctx: CallContext) -> Any:
        try:
            target = await self.guard.check(self.invocation.url)
        except UrlRejected as exc:
            raise FunctionError(UrlRejected.code, str(exc)) from None
        body = orjson.dumps(data)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "x-iii-Function-Path": self.function_id,
            "x-iii-Invocation-ID": str(uuid.uuid4()),
            "x-iii-Timestamp": timestamp,
            **(self.invocation.headers or {}),
        }
        if self.auth is not None:
            headers.update(self.auth.headers(timestamp, body))
        if target.host_header is not None:
            headers["Host"] = target.host_header
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            async with asyncio.timeout(self.timeout):
                status, reason, content = await self._send(target.url, headers, body, extensions)
        except (TimeoutError, httpx.TimeoutException):
            where = f"{self.invocation.method} {self.invocation.url}"
            raise FunctionError("http_request_failed", f"{where} timed out after {self.timeout:g}s") from None
        except ResponseTooLarge:
            limit = self.max_response_bytes
            raise FunctionError("http_response_failed", f"response larger than {limit} bytes") from None
        except httpx.ReadError as exc:
            raise FunctionError("http_response_failed", f"reading the response failed: {exc}") from None
        except httpx.HTTPError as exc:
            where = f"{self.invocation.method} {self.invocation.url}"
            raise FunctionError("http_request_failed", f"{where}: {exc}") from None
        return map_response(status, reason, content)

    async def _send(self, url: str, headers: dict[str, str], body: bytes,
                    extensions: dict[str, Any] | None) -> tuple[int, str, bytes]:
        request = self.client.build_request(self.invocation.method, url, content=body, headers=headers,
                                            extensions=extensions)
        response = await self.client.send(request, stream=True)
        try:
            parts: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ResponseTooLarge
                parts.append(chunk)
            return response.status_code, response.reason_phrase, b"".join(parts)
        finally:
            await response.aclose()


def map_response(status: int, reason: str, content: bytes) -> Any:
    if status >= 400:
        code, message = "http_error", f"HTTP {status} {reason or _reason(status)}".rstrip()
        parsed = _json_or_missing(content)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
            code = error.get("code") if isinstance(error.get("code"), str) else "http_error"
            message = error.get("message") if isinstance(error.get("message"), str) else "HTTP request failed"
        raise FunctionError(code, message)
    if not content.strip():
        return None
    parsed = _json_or_missing(content)
    if parsed is _MISSING:
        if 200 <= status < 300:
            raise FunctionError("invalid_response", f"HTTP {status} answer is not JSON")
        return None
    return parsed


_MISSING = object()


def _json_or_missing(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return _MISSING


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
