"""The ``orders`` stream: every processed order, in group ``all`` (the live page shows it)."""

config = {"name": "orders", "schema": {"type": "object"}, "baseConfig": {"storageType": "default"}}
