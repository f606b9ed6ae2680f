"""Config keys arrive camelCase (docs, Node) or snake_case (Python models): read either."""

from __future__ import annotations

from typing import Any


def pick(raw: dict[str, Any], *names: str, default: Any = None) -> Any:
    """The value of the first of ``names`` present (and not None) in ``raw``."""
    for name in names:
        value = raw.get(name)
        if value is not None:
            return value
    return default


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
