"""Namespaces as the console shows and filters them (spec iii-0.23-0.25 §1.1, §1.7, §1.11).

Pure functions: what a browser may send as a namespace filter, which namespaces a list holds,
and the namespace a subscriber queue name carries. The console faces browsers, so a filter value
is bounded and checked before it reaches the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_NAMESPACE = "default"
#: The longest namespace filter the console accepts unless configured otherwise.
DEFAULT_MAX_NAMESPACE_CHARS = 256


class InputError(ValueError):
    """Bad input from the browser: answered 400 with ``{"error": {code, message}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def parse_namespace(value: Any, max_chars: int = DEFAULT_MAX_NAMESPACE_CHARS, *,
                    field: str = "namespace") -> str | None:
    """A namespace sent by the browser: None when absent or empty (every namespace / the engine's
    own resolution); an :class:`InputError` when it is not a string, blank, too long or holds
    control characters (names are otherwise free-form, as in the engine)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError("INVALID_NAMESPACE", f"`{field}` must be a string")
    if len(value) > max_chars:
        raise InputError("INVALID_NAMESPACE", f"`{field}` is longer than {max_chars} characters")
    if not value.strip():
        raise InputError("INVALID_NAMESPACE", f"`{field}` is blank: name a namespace or leave it out")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InputError("INVALID_NAMESPACE", f"`{field}` holds control characters")
    return value


def namespace_of(row: Mapping[str, Any]) -> str:
    """A row's namespace; rows from engines before namespaces are in ``default``."""
    ns = row.get("namespace")
    return ns if isinstance(ns, str) and ns else DEFAULT_NAMESPACE


def namespaces_in(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The namespaces of ``rows``: ``default`` first when present, then the others sorted."""
    found = {namespace_of(row) for row in rows}
    return sorted(found, key=lambda ns: (ns != DEFAULT_NAMESPACE, ns))


def only_namespace(rows: list[dict[str, Any]], namespace: str | None) -> list[dict[str, Any]]:
    """``rows`` in ``namespace`` (every row when it is None)."""
    if namespace is None:
        return rows
    return [row for row in rows if namespace_of(row) == namespace]


def split_queue_namespace(queue: str) -> tuple[str, str | None]:
    """``esc(base) + "@" + esc(ns)`` -> ``(base, ns)`` (§1.11: ``esc`` doubles ``\\`` and puts
    ``\\`` before each ``@``); a name without an unescaped ``@`` -> ``(queue, None)``."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(queue):
        ch = queue[i]
        if ch == "\\" and i + 1 < len(queue) and queue[i + 1] in "\\@":
            current.append(queue[i + 1])
            i += 2
            continue
        if ch == "@":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    if len(parts) != 2 or not parts[1]:
        return queue, None
    return parts[0], parts[1]
