"""Internal queue names that carry a namespace (spec iii-0.23-0.25 §1.11).

A durable subscriber's queue is ``esc(<topic>::<function_id>) + "@" + esc(<namespace>)``: two
namespaces subscribing the same function id to one topic get two queues. ``esc`` doubles ``\\``
and puts ``\\`` before each ``@``, so the one unescaped ``@`` is the separator and the mapping is
injective (no two (topic, function, namespace) triples share a name).

Before namespaces (iii <= 0.22, pyiii before this change) the name was ``<topic>::<function_id>``;
:func:`legacy_target` says where such a stored queue moves (its ``default`` name).
"""

from __future__ import annotations

from typing import Final

from pyiii.core import DEFAULT_NAMESPACE

SEPARATOR: Final = "@"
NAMED_PREFIX: Final = "__fn_queue::"
BACKLOG_PREFIX: Final = "__backlog::"


def escape(part: str) -> str:
    """``\\`` -> ``\\\\`` first, then ``@`` -> ``\\@``."""
    return part.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR)


def join_ns(base: str, namespace: str) -> str:
    return f"{escape(base)}{SEPARATOR}{escape(namespace)}"


def split_ns(name: str) -> tuple[str, str] | None:
    """The inverse of :func:`join_ns`: ``(base, namespace)``, or None when ``name`` is not of
    that form (no unescaped ``@``, a second one, or a dangling ``\\``)."""
    parts: list[list[str]] = [[]]
    chars = iter(name)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, None)
            if nxt not in ("\\", SEPARATOR):
                return None
            parts[-1].append(nxt)
        elif ch == SEPARATOR:
            if len(parts) == 2:
                return None
            parts.append([])
        else:
            parts[-1].append(ch)
    if len(parts) != 2:
        return None
    return "".join(parts[0]), "".join(parts[1])


def subscriber_key(function_id: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """How an adapter stores one subscriber of a topic: the function and its namespace."""
    return join_ns(function_id, namespace)


def subscriber_queue(topic: str, subscriber: str) -> str:
    """The queue of one subscriber (a :func:`subscriber_key`) of ``topic``:
    ``esc(topic::function_id)@esc(namespace)``."""
    return f"{escape(topic)}::{subscriber}"


def topic_prefix(topic: str) -> str:
    """What every subscriber queue of ``topic`` starts with."""
    return f"{escape(topic)}::"


def subscriber_of(queue: str, topic: str) -> tuple[str, str] | None:
    """``(function_id, namespace)`` of a subscriber queue of ``topic``, or None if it is not one."""
    prefix = topic_prefix(topic)
    if not queue.startswith(prefix):
        return None
    return split_ns(queue[len(prefix):])


def namespace_of(queue: str) -> str | None:
    """The namespace a subscriber queue's name carries (None for named queues and backlogs)."""
    if queue.startswith((NAMED_PREFIX, BACKLOG_PREFIX)):
        return None
    split = split_ns(queue)
    return split[1] if split is not None else None


def is_legacy_subscriber_queue(name: str) -> bool:
    """A subscriber queue stored before namespaces: ``<topic>::<fid>`` not of the new form. The
    reference's rule is "no ``@``"; a legacy name with ``@`` that does not parse as a new name is
    moved here too (it cannot be a new one), one that does parse is read as a new name."""
    return "::" in name and not name.startswith((NAMED_PREFIX, BACKLOG_PREFIX)) and split_ns(name) is None


def legacy_target(name: str) -> str:
    """Where a legacy subscriber queue moves: the same topic and function in ``default``
    (``<topic>::<fid>`` names both, escaped together)."""
    return join_ns(name, DEFAULT_NAMESPACE)


def is_legacy_subscriber(subscriber: str) -> bool:
    """A stored subscriber written before namespaces: a bare function id."""
    return split_ns(subscriber) is None

