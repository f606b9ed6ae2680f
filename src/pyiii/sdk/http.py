"""HTTP-invoked functions and the streaming HTTP request/response helpers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import protocol

if TYPE_CHECKING:
    from .channels import ChannelReader, ChannelWriter, WritableStream

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class HttpAuthHmac:
    secret_key: str
    type: Literal["hmac"] = "hmac"


@dataclass
class HttpAuthBearer:
    token_key: str
    type: Literal["bearer"] = "bearer"


@dataclass
class HttpAuthApiKey:
    header: str
    value_key: str
    type: Literal["api_key"] = "api_key"


HttpAuthConfig = HttpAuthHmac | HttpAuthBearer | HttpAuthApiKey


@dataclass
class HttpInvocationConfig:
    """An external function the engine calls over HTTP instead of this worker (§3.2).
    Auth values are names of environment variables on the engine host."""

    url: str
    method: HttpMethod = "POST"
    timeout_ms: int | None = None
    headers: dict[str, str] | None = None
    auth: HttpAuthConfig | None = None


def is_http_invocation(value: Any) -> bool:
    """Ours, the wire struct, or iii-sdk's pydantic model (anything non-callable with a url)."""
    if isinstance(value, HttpInvocationConfig | protocol.HttpInvocationRef):
        return True
    return not callable(value) and isinstance(getattr(value, "url", None), str)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _wire_auth(auth: Any) -> protocol.HttpAuth | None:
    if auth is None:
        return None
    kind = _field(auth, "type")
    if kind == "hmac":
        return protocol.HttpAuthHmac(secret_key=_field(auth, "secret_key"))
    if kind == "bearer":
        return protocol.HttpAuthBearer(token_key=_field(auth, "token_key"))
    if kind == "api_key":
        return protocol.HttpAuthApiKey(header=_field(auth, "header"), value_key=_field(auth, "value_key"))
    raise ValueError(f"unknown HTTP auth type {kind!r}")


def to_wire_invocation(config: Any) -> protocol.HttpInvocationRef:
    if isinstance(config, protocol.HttpInvocationRef):
        return config
    return protocol.HttpInvocationRef(
        url=_field(config, "url"),
        method=_field(config, "method") or "POST",
        timeout_ms=_field(config, "timeout_ms"),
        headers=dict(_field(config, "headers") or {}),
        auth=_wire_auth(_field(config, "auth")),
    )


@dataclass
class StreamRequest:
    """An HTTP request whose body is read from a channel."""

    path_params: dict[str, str]
    query_params: dict[str, str | list[str]]
    body: Any
    headers: dict[str, str | list[str]]
    method: str
    request_body: ChannelReader


class StreamResponse:
    """An HTTP response written to a channel: status and headers first, then the body."""

    def __init__(self, writer: ChannelWriter) -> None:
        self._writer = writer

    async def status(self, status_code: int) -> None:
        await self._writer.send_message_async(json.dumps({"type": "set_status", "status_code": status_code}))

    async def headers(self, headers: dict[str, str]) -> None:
        await self._writer.send_message_async(json.dumps({"type": "set_headers", "headers": headers}))

    @property
    def stream(self) -> WritableStream:
        return self._writer.stream

    @property
    def writer(self) -> ChannelWriter:
        return self._writer

    def close(self) -> None:
        self._writer.close()


@dataclass
class HttpRequest:
    path_params: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, str | list[str]] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str | list[str]] = field(default_factory=dict)
    method: str = "GET"


def http(
    callback: Callable[[StreamRequest, StreamResponse], Awaitable[Any]],
) -> Callable[[Any], Awaitable[Any]]:
    """Adapt ``(request, response)`` streaming handlers to an ``http`` trigger payload
    (whose ``request_body``/``response`` refs the SDK already turned into channels)."""

    async def handler(req: Any) -> Any:
        request = StreamRequest(
            path_params=req.get("path_params") or {},
            query_params=req.get("query_params") or {},
            body=req.get("body"),
            headers=req.get("headers") or {},
            method=req.get("method", "GET"),
            request_body=req["request_body"],
        )
        return await callback(request, StreamResponse(req["response"]))

    return handler
