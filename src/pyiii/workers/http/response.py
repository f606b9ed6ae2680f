"""Turning a handler's (or middleware's) answer into status, headers and body bytes (spec §4.4)."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

from pyiii.workers.http.sink import Headers

log = logging.getLogger("pyiii.http")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
#: Framing is ours: a handler cannot set these (they would let it split or smuggle responses).
_RESERVED = frozenset(("content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te",
                       "trailer"))
_MISSING = object()


def pick_status(response: dict[str, Any]) -> int:
    """``status_code`` wins, ``statusCode`` is accepted too; anything not in 100-599 is 200."""
    value = response.get("status_code", _MISSING)
    if value is _MISSING or value is None:
        value = response.get("statusCode")
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return 200


def clean_headers(raw: Any) -> Headers:
    """Accept ``{"Name": "value"}`` or ``["Name: value"]``; drop what is not a valid header."""
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = []
        for item in raw:
            if isinstance(item, str) and ":" in item:
                name, _, value = item.partition(":")
                pairs.append((name.strip(), value.strip()))
    else:
        return []
    headers: Headers = []
    for name, value in pairs:
        if not isinstance(value, str) or not isinstance(name, str):
            continue
        if not _TOKEN.match(name) or "\r" in value or "\n" in value or "\x00" in value:
            log.warning("dropped invalid response header %r", name)
            continue
        if name.lower() in _RESERVED:
            continue
        headers.append((name, value))
    return headers


def _content_type(headers: Headers) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type":
            return value
    return None


def encode_body(body: Any, headers: Headers) -> bytes:
    """Serialise ``body`` following the reference rules; may add a JSON content-type."""
    content_type = _content_type(headers)
    if body is None:
        return b""
    if content_type is not None:
        if isinstance(body, str):
            return body.encode("utf-8")
        if isinstance(body, bytes):
            return body
        return _json(body)
    headers.append(("content-type", "application/json"))
    return _json(body)


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return orjson.dumps(value, default=str)


def buffered(result: Any) -> tuple[int, Headers, bytes]:
    """A handler's non-null result. A non-object result is sent as the JSON body."""
    if not isinstance(result, dict):
        headers: Headers = []
        return 200, headers, encode_body(result, headers)
    headers = clean_headers(result.get("headers"))
    body = result.get("body", _MISSING)
    return pick_status(result), headers, encode_body({} if body is _MISSING else body, headers)


def middleware_response(response: Any) -> tuple[int, Headers, bytes]:
    """``{"action":"respond","response":{...}}``: body always JSON, headers an object map."""
    if not isinstance(response, dict):
        response = {}
    headers = clean_headers(response.get("headers")) if isinstance(response.get("headers"), dict) else []
    if _content_type(headers) is None:
        headers.append(("content-type", "application/json"))
    return pick_status(response), headers, _json(response.get("body"))
