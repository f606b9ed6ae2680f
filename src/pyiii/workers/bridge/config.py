"""``iii-bridge`` config (spec/workers.md §15) plus pyiii's limits. Unknown keys are rejected."""

from __future__ import annotations

import os

import msgspec

from pyiii.adapters.bridge import BridgeConfig


class Expose(msgspec.Struct, forbid_unknown_fields=True):
    """Make ``local_function`` of this engine callable on the remote one as ``remote_function``."""

    local_function: str
    remote_function: str | None = None


class Forward(msgspec.Struct, forbid_unknown_fields=True):
    """Register ``local_function`` here; a call runs ``remote_function`` on the remote engine."""

    local_function: str
    remote_function: str
    timeout_ms: int | None = None


class IiiBridgeConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    #: The remote engine. Unset: ``$III_URL``, else ``ws://0.0.0.0:49134`` (as the reference).
    url: str | None = None
    #: Accepted for compatibility with older configs; the worker name on the remote engine.
    service_id: str | None = None
    service_name: str | None = None
    expose: list[Expose] = msgspec.field(default_factory=list)
    forward: list[Forward] = msgspec.field(default_factory=list)
    # ---- pyiii limits (see pyiii.adapters.bridge.BridgeConfig) ----
    #: Timeout of ``bridge.invoke`` without ``timeout_ms`` and of a forward rule without one.
    call_timeout_ms: int = 30_000
    connect_timeout_ms: int = 5_000
    reconnect_initial_delay_ms: int = 200
    reconnect_max_delay_ms: int = 5_000
    max_message_bytes: int = 64 * 1024 * 1024

    def connection(self) -> BridgeConfig:
        return BridgeConfig(
            bridge_url=self.url or os.environ.get("III_URL") or "ws://0.0.0.0:49134",
            call_timeout_ms=self.call_timeout_ms,
            connect_timeout_ms=self.connect_timeout_ms,
            reconnect_initial_delay_ms=self.reconnect_initial_delay_ms,
            reconnect_max_delay_ms=self.reconnect_max_delay_ms,
            max_message_bytes=self.max_message_bytes,
        )

    def __post_init__(self) -> None:
        self.connection()  # validates the URL and the limits now, as a config error
        for rule in self.forward:
            if rule.timeout_ms is not None and rule.timeout_ms < 1:
                raise ValueError(f"forward {rule.local_function}: timeout_ms must be >= 1")
