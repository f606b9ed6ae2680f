"""Checks on the filter as a JSON value, before its structure is read (spec §5.12.4): JSON types
only, string keys, valid Unicode, finite numbers within ±2^53, bounded nesting and encoded size.

The walk is iterative, so a hostile value nested far beyond the limit costs no recursion.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pyiii.observe_filter.errors import FilterError
from pyiii.observe_filter.limits import FilterLimits

#: Python strings hold surrogate code points only when a JSON ``\\ud800``-style escape was lone
#: (a valid pair decodes to one astral character), so any of them is invalid Unicode.
_SURROGATE = re.compile("[\ud800-\udfff]")


def location(parent: str, key: str | int) -> str:
    """``input.x`` + ``$in`` -> ``input.x.$in``; array positions as ``[3]``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def shown(where: str) -> str:
    return f"`{where}`" if where else "the filter"


def check_value(value: Any, limits: FilterLimits) -> None:
    """Raise :class:`FilterError` unless ``value`` is plain JSON within the value limits."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            if depth > limits.max_nesting:
                raise FilterError(f"{shown(where)}: arrays/objects nested deeper than {limits.max_nesting}")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise FilterError(f"{shown(where)}: object key {key!r} is not a string")
                    if _SURROGATE.search(key):
                        raise FilterError(f"{shown(where)}: object key {key!r} is not valid Unicode (lone surrogate)")
                    stack.append((child, location(where, key), depth))
            else:
                stack.extend((child, location(where, index), depth) for index, child in enumerate(item))
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                raise FilterError(f"{shown(where)}: string {item!r} is not valid Unicode (lone surrogate)")
        elif isinstance(item, bool) or item is None:
            pass
        elif isinstance(item, int | float):
            _check_number(item, where, limits)
        else:
            raise FilterError(f"{shown(where)}: {type(item).__name__} is not a JSON value")


def _check_number(number: int | float, where: str, limits: FilterLimits) -> None:
    if isinstance(number, float) and not math.isfinite(number):
        raise FilterError(f"{shown(where)}: number {number} is not finite")
    if abs(number) > limits.max_abs_number:
        raise FilterError(f"{shown(where)}: number {number} is outside ±{limits.max_abs_number}")


def encoded_size(value: Any) -> int | None:
    """UTF-8 bytes of the compact JSON encoding, or ``None`` when the value cannot be encoded
    (the value checks then say why)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return len(text.encode("utf-8", "surrogatepass"))


def check_size(value: Any, limits: FilterLimits) -> None:
    size = encoded_size(value)
    if size is not None and size > limits.max_encoded_bytes:
        raise FilterError(f"the filter encodes to {size} bytes of compact JSON, more than {limits.max_encoded_bytes}")


def nesting(value: Any, limit: int) -> int:
    """Arrays/objects nested in ``value`` (a scalar is 0), counted up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
