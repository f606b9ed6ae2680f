"""``iii-http-functions`` config (spec/workers.md §5). Unknown keys are rejected."""

from __future__ import annotations

import msgspec


class SecurityConfig(msgspec.Struct, forbid_unknown_fields=True):
    #: Host glob patterns (``*.example.com``); ``[]`` or ``["*"]`` allows any host.
    url_allowlist: list[str] = msgspec.field(default_factory=lambda: ["*"])
    #: Refuse hosts that are, or resolve to, anything but a global address.
    block_private_ips: bool = True
    require_https: bool = True


class HttpFunctionsConfig(msgspec.Struct, forbid_unknown_fields=True):
    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    #: Used when an invocation has no ``timeout_ms``.
    default_timeout_ms: int = 30_000
    #: No invocation may wait longer than this, whatever its ``timeout_ms``.
    max_timeout_ms: int = 60_000
    #: Larger response bodies fail with ``http_response_failed`` instead of being held.
    max_response_bytes: int = 16 * 1024 * 1024
    #: Connections the shared HTTP client keeps open at most.
    max_connections: int = 100
