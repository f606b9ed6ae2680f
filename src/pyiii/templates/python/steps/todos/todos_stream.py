"""The ``todos`` stream: browsers subscribe to group ``all`` on ws://localhost:3112."""

config = {"name": "todos", "schema": {"type": "object"}}
