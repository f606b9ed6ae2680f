"""What the HTTP server hands to the request pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from pyiii.workers.http.body import BodyStream


@dataclass(slots=True)
class Request:
    method: str
    #: Raw path (not percent-decoded) and raw query string of the request target.
    path: str
    query: str
    #: Lower-case names; a repeated header keeps its last value.
    headers: dict[str, str]
    http_version: str
    keep_alive: bool
    content_length: int | None
    body: BodyStream
    client: str = ""
