"""``configuration`` worker config (spec/workers.md §3.1), read from config.yaml every boot."""

from __future__ import annotations

import msgspec

from pyiii.adapters.bridge import BridgeAdapter


class FsSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    #: One ``<id>.yaml`` per entry; relative paths are resolved against the project directory.
    directory: str = "./config"


class FsAdapter(msgspec.Struct, tag="fs", tag_field="name", forbid_unknown_fields=True):
    config: FsSettings = msgspec.field(default_factory=FsSettings)


class ConfigurationConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    adapter: FsAdapter | BridgeAdapter = msgspec.field(default_factory=FsAdapter)
    #: > 0: delete an entry this long after its last ``configuration`` trigger went away.
    ttl_seconds: float = 0

    def __post_init__(self) -> None:
        if self.ttl_seconds < 0:
            raise ValueError("ttl_seconds must be >= 0")
        if self.ttl_seconds and isinstance(self.adapter, BridgeAdapter):
            raise ValueError("ttl_seconds does not apply with the bridge adapter: entries are deleted by "
                             "the engine that holds them (set ttl_seconds there)")
