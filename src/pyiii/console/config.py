"""Console settings: where it listens and where the engine's HTTP and stream ports are."""

from __future__ import annotations

import os
from typing import Annotated

import msgspec

from pyiii.console.namespaces import DEFAULT_MAX_NAMESPACE_CHARS


def _env_port(name: str, default: int) -> int:
    # The test suite and several projects on one machine need another port without a config block.
    return int(os.environ.get(name, default))


class ConsoleConfig(msgspec.Struct, forbid_unknown_fields=True):
    port: int = msgspec.field(default_factory=lambda: _env_port("III_CONSOLE_PORT", 3113))
    host: str = "127.0.0.1"
    #: Required on every request when set; when the console binds beyond loopback and none is
    #: set, one is generated and printed with the console URL. Env: III_CONSOLE_TOKEN.
    token: str | None = msgspec.field(default_factory=lambda: os.environ.get("III_CONSOLE_TOKEN") or None)
    #: Host names (besides loopback names and IP literals) the console answers to; "*": any.
    allowed_hosts: list[str] = []
    #: Origins (besides the console's own) allowed to send state-changing requests.
    allowed_origins: list[str] = []
    #: The engine host the console reaches the HTTP and stream ports on.
    engine_host: str = "127.0.0.1"
    #: iii-http's port (the request runner sends requests there); null: 3111.
    http_port: int | None = None
    #: iii-stream's WebSocket port (proxied at /ws/streams); null: 3112.
    ws_port: int | None = None
    #: The longest namespace the browser may send (a filter, or where to invoke); longer: 400.
    max_namespace_chars: Annotated[int, msgspec.Meta(ge=1, le=65536)] = DEFAULT_MAX_NAMESPACE_CHARS
