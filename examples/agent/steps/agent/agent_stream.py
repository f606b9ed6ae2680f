"""Stream ``agent``: group = conversation id; items are messages, tool calls, drafts and ``status``."""

config = {"name": "agent", "schema": {"type": "object"}, "baseConfig": {"storageType": "default"}}
