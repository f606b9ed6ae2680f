"""``iii-http`` config (spec/workers.md §4.1). Unknown keys are rejected, like the reference."""

from __future__ import annotations

import msgspec


class CorsConfig(msgspec.Struct, forbid_unknown_fields=True):
    #: ``[]`` or a list containing ``"*"`` allows any origin.
    allowed_origins: list[str] = []
    #: ``[]`` allows any method.
    allowed_methods: list[str] = []
    #: Seconds a browser may cache a preflight answer.
    max_age: int = 600


class GlobalMiddleware(msgspec.Struct, forbid_unknown_fields=True):
    function_id: str
    phase: str = "preHandler"
    priority: int = 0


class HttpConfig(msgspec.Struct, forbid_unknown_fields=True):
    port: int = 3111
    #: Loopback unless a config (or `pyiii --host`) names another address.
    host: str = "127.0.0.1"
    #: Whether a failed handler's error text reaches the HTTP client. Off: the client gets a
    #: generic message with an error id and trace id, the text stays in the log. `pyiii dev`
    #: turns it on when the config does not name it; `pyiii start` and plain `pyiii` leave it off.
    expose_errors: bool = False
    #: Whole-request timeout (until the response starts) and per-middleware-call timeout, ms.
    default_timeout: int = 30_000
    #: Seconds in the ``Retry-After`` of a 503 when the target worker is overloaded
    #: (``limit_exceeded``: its pending-call quota, or this caller's share of it, is full).
    overload_retry_after: int = 1
    #: Requests handled at once; the rest wait. 0 is clamped to 1.
    concurrency_request_limit: int = 1024
    #: Absent means permissive (any origin, method and header).
    cors: CorsConfig | None = None
    middleware: list[GlobalMiddleware] = []
    #: Largest request body accepted; bigger ones get 413 before they are read.
    max_body_bytes: int = 16 * 1024 * 1024
    #: Longest request target (path + query) accepted; longer ones get 414.
    max_url_bytes: int = 8192
    #: Most header lines in one request; more get 431.
    max_headers: int = 128
    #: Largest request head (request line + headers), counted as it arrives; more get 431.
    max_header_bytes: int = 64 * 1024
    #: Seconds from the first byte of a request head to its end; slower heads get 408.
    header_timeout: float = 10.0
    #: Seconds after the head for the whole body to arrive, plus one second for every
    #: ``body_min_rate`` bytes received (Apache mod_reqtimeout's rule); slower bodies get 408.
    body_timeout: float = 20.0
    #: Bytes per second that earn a body one more second; 0 makes ``body_timeout`` a plain deadline.
    body_min_rate: int = 500
    #: Open connections on the port; past it, new ones are answered 503 and closed.
    max_connections: int = 10_000
    #: An idle keep-alive connection is closed after this many seconds.
    keep_alive_timeout: float = 5.0
    #: Seconds ``stop()`` waits for in-flight requests before closing their connections.
    shutdown_grace: float = 10.0
    #: Capacity (items) of the request_body / response data channels.
    channel_buffer: int = 64
    #: Request bodies are written to the request_body channel in pieces of at most this size.
    channel_chunk_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        # A zero or negative limit would silently mean "no limit" or "refuse everything".
        for name in ("max_header_bytes", "header_timeout", "body_timeout", "max_connections", "max_body_bytes",
                     "max_url_bytes", "max_headers", "keep_alive_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"iii-http {name} must be greater than 0")
        if self.body_min_rate < 0:
            raise ValueError("iii-http body_min_rate must be 0 (a plain deadline) or more")
        if self.overload_retry_after < 0:
            raise ValueError("iii-http overload_retry_after must be 0 or more seconds")
