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

import msgspec

from pyiii import protocol as p

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


def decode_small(raw: msgspec.Raw, max_bytes: int) -> Any:
    """A field's JSON value, or None when it is absent, over ``max_bytes`` or undecodable (too
    deep, a number too large): the SDK reads a malformed ``caller`` as none, so does the engine."""
    if not raw or len(raw) > max_bytes:
        return None
    try:
        return p.from_raw(raw)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None


def forwarded_fields(
    peer: Peer, caller: msgspec.Raw, depth: msgspec.Raw, max_chars: int
) -> tuple[msgspec.Raw, msgspec.Raw]:
    """``caller`` and ``observe_depth`` as the engine forwards them to an observe.v1 target:
    the stamped caller (always) and the depth (absent when 0)."""
    # The largest caller worth reading: its members (strings of at most max_chars, escapes
    # included) with their keys and one parent level.
    stamped = stamped_caller(peer, decode_small(caller, 12 * (max_chars + 32)), max_chars)
    hops = observe_depth(decode_small(depth, 32))
    return p.to_raw(stamped), (p.to_raw(hops) if hops else p.ABSENT)


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
