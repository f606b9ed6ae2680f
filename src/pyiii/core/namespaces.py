"""Namespace values (spec iii-0.23-0.25 §1.1): a routing value stored next to an id, never folded
into it. Absent (or ``null``, decision D3) means ``default``; present but blank is an error."""

from __future__ import annotations

from typing import Final

DEFAULT: Final = "default"


def is_blank(namespace: str | None) -> bool:
    """Named and left empty (or whitespace only): refused with INVALID_NAMESPACE, never default."""
    return namespace is not None and not namespace.strip()


def blank_message(field: str = "namespace") -> str:
    return f"`{field}` is empty: it was named and left blank. Give it a name, or omit it to use `default`."


def qualified(namespace: str, function_id: str) -> str:
    """One string for ``(namespace, id)`` where one is needed: the id in default, ``ns/id`` elsewhere."""
    return function_id if namespace == DEFAULT else f"{namespace}/{function_id}"


def not_found_message(function_id: str, namespace: str | None, elsewhere: list[str]) -> str:
    """``function_not_found``'s message: 0.22.1's text while namespaces play no part (nothing
    named, the id nowhere else), else the 0.23 text naming the namespace and where the id is."""
    if namespace is None and not elsewhere:
        return f"Function {function_id} not found"
    text = f"Function {function_id} not found in namespace {namespace or DEFAULT}."
    if elsewhere:
        text += f" It is registered in namespace(s): {', '.join(elsewhere)}."
    return text
