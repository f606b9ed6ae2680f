"""``iii-stream`` config (spec/workers.md §7.1) plus pyiii's limits."""

from __future__ import annotations

import msgspec

from pyiii.adapters.bridge import BridgeAdapter
from pyiii.adapters.kv import AdapterConfig


class StreamConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    port: int = 3112
    #: Loopback unless a config (or `pyiii --host`) names another address.
    host: str = "127.0.0.1"
    #: Called at connection time; see README "Authentication".
    auth_function: str | None = None
    #: No block: durable SQLite at ``<data_dir>/stream.db`` (pyiii's embedded default).
    #: ``bridge``: items live on another engine (README "Bridge adapter").
    adapter: AdapterConfig | BridgeAdapter | None = None
    # ---- pyiii limits (every one configurable) ----
    #: Bytes a client may have waiting in its outbound buffer before it is closed with 1013.
    subscriber_buffer_bytes: int = 1024 * 1024
    #: Largest item (encoded JSON bytes) ``stream::set`` / ``update`` store and ``send`` sends;
    #: larger ones are refused with STREAM_ITEM_TOO_LARGE.
    max_item_bytes: int = 8 * 1024 * 1024
    #: A join's ``sync`` holds items up to this many bytes; the rest follow as ``create`` events.
    sync_page_bytes: int = 256 * 1024
    #: How long a joining client gets to take the whole snapshot before it is closed with 1013.
    sync_timeout_ms: int = 30_000
    #: Largest message a client may send (bytes); larger ones close it with 1009.
    max_message_bytes: int = 64 * 1024
    max_connections: int = 10_000
    max_subscriptions_per_connection: int = 1_000
    #: How long the auth function and each stream:join handler may take.
    auth_timeout_ms: int = 10_000
    join_timeout_ms: int = 10_000
    handshake_timeout_ms: int = 10_000
    ping_interval_ms: int = 20_000
    ping_timeout_ms: int = 20_000
    #: How long a closing client gets to answer the close frame before the TCP connection is cut.
    close_timeout_ms: int = 2_000
