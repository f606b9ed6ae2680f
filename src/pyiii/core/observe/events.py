"""An event an observer may react to, and what an activation delivers of it (spec
iii-0.23-0.25 §5.3.8, §5.3.10, §5.7).

A routed call keeps its payloads as the raw JSON bytes it received: a part is decoded only when
some filter reads it (:meth:`Event.value`) or an in-process target needs Python values, and an
envelope for a worker embeds the raw bytes as they are (:meth:`Event.wire`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pyiii import protocol as p
from pyiii.core.observe.model import ON_ACCEPTS

if TYPE_CHECKING:
    from pyiii.core.observe.model import Observer

#: The value of a part the event does not have (``null`` and absent differ, spec §5.3.8).
MISSING: Final = object()
_PARTS: Final = ("input", "output", "error", "caller", "metadata")


@dataclass(slots=True)
class Event:
    function_id: str
    namespace: str
    invocation_id: str
    status: str
    started_at_ms: int
    duration_ms: float
    depth: int = 0
    traceparent: str | None = None
    baggage: str | None = None
    #: Parts as received from a worker (raw JSON), decoded on first use into ``values``.
    raw: dict[str, msgspec.Raw] = field(default_factory=dict)
    #: Parts as Python values (in-process calls, or decoded raw parts).
    values: dict[str, Any] = field(default_factory=dict)
    #: The source invocation's caller as a Python dict (None: unknown).
    caller: dict[str, Any] | None = None
    #: An owner's ``obs.call`` payload (raw), delivered as is instead of an envelope.
    owner_payload: msgspec.Raw | None = None
    #: Match documents already built, by the roots they hold (observers' filters share them).
    docs: dict[frozenset[str], dict[str, Any]] = field(default_factory=dict)

    def has(self, part: str) -> bool:
        if part == "caller":
            return self.caller is not None
        return part in self.values or part in self.raw

    def value(self, part: str) -> Any:
        """The part as a Python value, MISSING when absent or undecodable."""
        if part == "caller":
            return self.caller if self.caller is not None else MISSING
        if part in self.values:
            return self.values[part]
        raw = self.raw.get(part)
        if raw is None:
            return MISSING
        try:
            value = p.from_raw(raw) if raw else None
        except (msgspec.DecodeError, RecursionError, UnicodeError):
            return MISSING
        self.values[part] = value
        return value

    def wire(self, part: str) -> Any:
        """The part for an encoder: raw bytes as received when there are any."""
        raw = self.raw.get(part)
        if raw is not None:
            return raw if raw else p.NULL
        return self.value(part)

    def match_doc(self, roots: frozenset[str]) -> dict[str, Any]:
        """``{input, output | error, caller?, metadata?}`` restricted to ``roots`` (spec §5.7)."""
        doc = self.docs.get(roots)
        if doc is None:
            doc = self.docs[roots] = {}
            for part in roots:
                value = self.value(part)
                if value is not MISSING:
                    doc[part] = value
        return doc


def matches(observer: Observer, event: Event) -> bool:
    """The observer's ``on`` accepts the event's status, and its filter matches."""
    spec = observer.spec
    if event.status not in ON_ACCEPTS[spec.on]:
        return False
    flt = spec.filter
    return flt.match_all or flt.matches(event.match_doc(flt.roots))


def activation_data(observer: Observer, event: Event, activation_id: str, *, wire: bool) -> Any:
    """The target's ``data``: the envelope, or the event's input / output alone (``deliver``).
    ``wire``: for a worker (raw parts embedded as they are); else Python values."""
    part_of = event.wire if wire else event.value
    spec = observer.spec
    if spec.deliver != "envelope":
        value = part_of(spec.deliver)
        return None if value is MISSING else value
    envelope: dict[str, Any] = {
        "observer_id": spec.id, "activation_id": activation_id, "function_id": event.function_id,
        "namespace": event.namespace, "invocation_id": event.invocation_id, "status": event.status,
    }
    for part in spec.capture:
        if event.has(part):
            value = part_of(part)
            if value is not MISSING:
                envelope[part] = value
    envelope["started_at_ms"] = event.started_at_ms
    envelope["duration_ms"] = event.duration_ms
    return envelope


def activation_caller(event: Event, owner_id: str | None, owner_name: str | None) -> dict[str, Any]:
    """The activation's ``caller`` (spec §5.9, recommended): the source owner's identity, the
    source invocation, and the source invocation's caller (one level) as ``parent``."""
    caller: dict[str, Any] = {}
    if owner_id:
        caller["worker_id"] = owner_id
    if owner_name:
        caller["worker_name"] = owner_name
    caller["function_id"] = event.function_id
    caller["invocation_id"] = event.invocation_id
    if event.caller:
        caller["parent"] = {k: v for k, v in event.caller.items() if k != "parent" and isinstance(v, str)}
    return caller


def wire_value(value: Any) -> Any:
    """A frame field that may be kept raw, as a Python value (None when absent or unreadable)."""
    if not isinstance(value, msgspec.Raw):
        return value
    try:
        return p.from_raw(value) if value else None
    except (msgspec.DecodeError, RecursionError, UnicodeError):
        return None


def read_depth(value: Any) -> int:
    """``observe_depth`` as the SDK reads it: a positive integer, else 0 (spec §5.10)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def read_caller(value: Any) -> dict[str, Any] | None:
    """A wire ``caller`` read leniently (spec §5.3.9): string members only, one parent level."""
    if not isinstance(value, dict):
        return None
    caller: dict[str, Any] = {k: v for k, v in value.items() if k != "parent" and isinstance(v, str)}
    parent = value.get("parent")
    if isinstance(parent, dict):
        caller["parent"] = {k: v for k, v in parent.items() if k != "parent" and isinstance(v, str)}
    return caller


__all__ = [
    "MISSING", "Event", "activation_caller", "activation_data", "matches", "read_caller", "read_depth", "wire_value",
]
