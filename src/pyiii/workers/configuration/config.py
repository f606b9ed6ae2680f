"""``configuration`` worker config (spec/workers.md §3.1), read from config.yaml every boot."""

from __future__ import annotations

import msgspec


class FsSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    #: One ``<id>.yaml`` per entry; relative paths are resolved against the project directory.
    directory: str = "./config"


class FsAdapter(msgspec.Struct, tag="fs", tag_field="name", forbid_unknown_fields=True):
    config: FsSettings = msgspec.field(default_factory=FsSettings)


class BridgeAdapter(msgspec.Struct, tag="bridge", tag_field="name"):
    """Spelled like the reference's, only so that the refusal below names the problem."""

    config: dict[str, object] | None = None

    def __post_init__(self) -> None:
        raise ValueError("the `bridge` configuration adapter is not supported by pyiii; use `fs`")


class ConfigurationConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    adapter: FsAdapter | BridgeAdapter = msgspec.field(default_factory=FsAdapter)
    #: > 0: delete an entry this long after its last ``configuration`` trigger went away.
    ttl_seconds: float = 0

    def __post_init__(self) -> None:
        if self.ttl_seconds < 0:
            raise ValueError("ttl_seconds must be >= 0")
