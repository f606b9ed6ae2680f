"""``adapter: {name: bridge, config: {bridge_url, ...}}`` as iii spells it, plus pyiii's limits."""

from __future__ import annotations

import msgspec


class BridgeConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    bridge_url: str = "ws://localhost:49134"
    #: pyiii: how long one forwarded operation may take before it fails with ``bridge_timeout``.
    call_timeout_ms: int = 30_000
    #: pyiii: while the remote engine is unreachable, how long a call waits for the connection
    #: to come back before it fails with ``bridge_unavailable``.
    connect_timeout_ms: int = 5_000
    #: pyiii: reconnection backoff after the remote engine went away (doubling, with jitter).
    reconnect_initial_delay_ms: int = 200
    reconnect_max_delay_ms: int = 5_000
    #: pyiii: largest frame accepted from the remote engine.
    max_message_bytes: int = 64 * 1024 * 1024
    #: pyiii (iii-stream): distinct stream names this engine's clients may watch on the remote
    #: engine (one remote ``stream`` trigger each, kept while connected).
    max_watched_streams: int = 10_000

    def __post_init__(self) -> None:
        for name in ("call_timeout_ms", "connect_timeout_ms", "reconnect_initial_delay_ms",
                     "reconnect_max_delay_ms", "max_message_bytes", "max_watched_streams"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not self.bridge_url.startswith(("ws://", "wss://")):
            raise ValueError(f"bridge_url must be a ws:// or wss:// URL, got {self.bridge_url!r}")


class BridgeAdapter(msgspec.Struct, tag="bridge", tag_field="name", forbid_unknown_fields=True):
    config: BridgeConfig = msgspec.field(default_factory=BridgeConfig)
