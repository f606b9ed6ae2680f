"""``iii-state`` config (spec/workers.md §6.1)."""

from __future__ import annotations

import msgspec

from pyiii.adapters.bridge import BridgeAdapter
from pyiii.adapters.kv import AdapterConfig


class StateConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    #: No block: durable SQLite at ``<data_dir>/state.db`` (pyiii's embedded default).
    #: ``bridge``: every operation is forwarded to another engine's ``state::*`` (README).
    adapter: AdapterConfig | BridgeAdapter | None = None
    triggers_enabled: bool = True
    #: Largest serialized value ``state::set`` / ``state::update`` may store; ``None`` = no limit.
    max_value_bytes: int | None = msgspec.field(default=None)
    #: Accepted for compatibility; pyiii commits every write before acknowledging it.
    save_interval_ms: int | None = None

    def __post_init__(self) -> None:
        if self.max_value_bytes is not None and self.max_value_bytes < 1:
            raise ValueError("max_value_bytes must be >= 1 (or null for no limit)")
