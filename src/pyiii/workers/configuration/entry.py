"""One configuration entry and the views the functions and events show of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Entry:
    id: str
    name: str
    description: str
    #: Stored verbatim, ``${VAR}`` templates included.
    value: Any = None
    metadata: Any = None
    #: Never persisted: known only once a worker registered it in this process.
    schema: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        """What the fs adapter writes to ``<id>.yaml``."""
        doc: dict[str, Any] = {"id": self.id, "name": self.name, "description": self.description,
                               "value": self.value}
        if self.metadata is not None:
            doc["metadata"] = self.metadata
        return doc

    def view(self) -> dict[str, Any]:
        """``configuration::schema`` / ``::list`` row: everything but the value."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "description": self.description,
                               "schema": self.schema}
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out

    def same_content(self, other: Entry) -> bool:
        return self.document() == other.document()


def event(event_type: str, entry: Entry, old_value: Any, new_value: Any) -> dict[str, Any]:
    """A ``configuration`` trigger payload (spec/workers.md §3.3); values already expanded."""
    payload: dict[str, Any] = {"type": "configuration", "event_type": event_type, "id": entry.id,
                               "name": entry.name, "description": entry.description, "schema": entry.schema,
                               "old_value": old_value, "new_value": new_value}
    if entry.metadata is not None:
        payload["metadata"] = entry.metadata
    return payload
