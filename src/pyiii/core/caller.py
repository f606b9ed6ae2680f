"""``caller`` and ``observe_depth`` on a routed ``invokefunction`` (spec iii-0.23-0.25 §5.3.9,
§5.9, §5.10).

A worker asserts what it knows inside a handler (``function_id``, ``invocation_id`` and the
handler's own caller as ``parent``); the engine adds who the calling connection is
(``worker_id``, ``worker_name``), which a worker cannot claim for itself, and forwards both fields
only to targets that declared ``observe.v1``. Malformed values are read the way the SDK reads
them: a non-object ``caller`` is none, non-string members are dropped, ``parent`` is one level
deep, and ``observe_depth`` that is not a positive integer is 0. Strings longer than the engine's
limit are dropped too: the fields are informational and must not carry payloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pyiii.core.peer import Peer

#: What a parent names (one level: a ``parent`` inside ``parent`` is dropped).
_PARENT_KEYS: Final = ("worker_id", "worker_name", "function_id", "invocation_id")
#: What the calling worker may assert about its own invocation; ``worker_*`` are the engine's.
_ASSERTED_KEYS: Final = ("function_id", "invocation_id")
#: Depths beyond this are read as this (a JSON integer can be any size).
MAX_DEPTH: Final = 2**31 - 1


def observe_depth(value: Any) -> int:
    """The depth a frame carried: a positive integer, else 0 (``true`` is not an integer)."""
    if type(value) is not int or value <= 0:
        return 0
    return min(value, MAX_DEPTH)


def _strings(source: dict[str, Any], keys: tuple[str, ...], max_chars: int) -> dict[str, str]:
    return {
        key: value for key in keys
        if isinstance(value := source.get(key), str) and len(value) <= max_chars
    }


def stamped_caller(peer: Peer, asserted: Any, max_chars: int) -> dict[str, Any]:
    """The ``caller`` forwarded for a call from ``peer``: its connection's identity, plus what
    its frame asserted (validated). ``max_chars`` bounds every string kept from the frame."""
    caller: dict[str, Any] = {"worker_id": peer.worker_id}
    if peer.metadata.name:
        caller["worker_name"] = peer.metadata.name
    if isinstance(asserted, dict):
        caller.update(_strings(asserted, _ASSERTED_KEYS, max_chars))
        parent = asserted.get("parent")
        if isinstance(parent, dict):
            kept = _strings(parent, _PARENT_KEYS, max_chars)
            if kept:
                caller["parent"] = kept
    return caller
