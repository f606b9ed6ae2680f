"""CORS (spec §4.1): permissive when not configured; preflights are answered before routing."""

from __future__ import annotations

from pyiii.workers.http.config import CorsConfig
from pyiii.workers.http.request import Request
from pyiii.workers.http.sink import Headers


class Cors:
    def __init__(self, config: CorsConfig | None) -> None:
        self.max_age = str(config.max_age if config is not None else 600)
        origins = config.allowed_origins if config is not None else []
        self.any_origin = not origins or "*" in origins
        self.origins = frozenset(origins)
        methods = [m.upper() for m in (config.allowed_methods if config is not None else [])]
        self.methods = frozenset(methods)
        self.methods_header = ", ".join(sorted(methods)) if methods else "*"
        self._any_headers: Headers = [("access-control-allow-origin", "*"), ("access-control-expose-headers", "*")]

    def is_preflight(self, request: Request) -> bool:
        return request.method == "OPTIONS" and "access-control-request-method" in request.headers

    def response_headers(self, origin: str) -> Headers:
        if self.any_origin:
            return self._any_headers
        if origin in self.origins:
            return [("access-control-allow-origin", origin), ("vary", "origin")]
        return []

    def preflight(self, request: Request, origin: str) -> Headers:
        """Headers of the 200 answer; empty (the browser then refuses) when not allowed."""
        allowed = self.response_headers(origin)
        wanted = request.headers.get("access-control-request-method", "").upper()
        if not allowed or (self.methods and wanted not in self.methods):
            return []
        requested_headers = request.headers.get("access-control-request-headers")
        return [
            *allowed,
            ("access-control-allow-methods", self.methods_header),
            ("access-control-allow-headers", requested_headers or "*"),
            ("access-control-max-age", self.max_age),
        ]
