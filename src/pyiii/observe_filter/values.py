"""JSON values as the filter language sees them (spec §5.12.3): absent vs ``null``, numbers as
IEEE doubles (``1 == 1.0``, ``-0 == 0``, a boolean is no number), strings by code point, objects
equal regardless of key order, arrays element-wise.

Document values are read as their JSON form (§5.12.5), as a JSON encoder would write them: a
non-finite float (Python's decoder accepts ``NaN``/``Infinity``) and an integer beyond the double
range are ``null``, a ``tuple`` is an array. Nothing here raises on a strange value; a value with
no JSON form at all simply matches nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final


class _Absent:
    """What a path yields when it leads nowhere (a missing key, an index out of range, a step
    into a scalar, a root the document lacks). Distinct from ``None``, the JSON ``null``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

Predicate = Callable[[Any], bool]
"""A test of one value (possibly :data:`ABSENT`)."""


def as_double(value: Any) -> float | None:
    """The value as a double when its JSON form is a number, else ``None`` (booleans are not
    numbers; non-finite values are ``null``)."""
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def is_null(value: Any) -> bool:
    """The JSON form is ``null``: ``None``, or a number no double can hold."""
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return as_double(value) is None
    return False


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(value: Any, operand: Any) -> bool:
    """Deep JSON equality of a document ``value`` and a validated filter ``operand``. Recursion
    follows the operand, whose nesting the validator bounded."""
    if operand is None:
        return is_null(value)
    if isinstance(operand, bool):
        return isinstance(value, bool) and value == operand
    if isinstance(operand, str):
        return isinstance(value, str) and value == operand
    if isinstance(operand, int | float):
        number = as_double(value)
        return number is not None and number == float(operand)
    if isinstance(operand, dict):
        return (isinstance(value, dict) and len(value) == len(operand)
                and all(key in value and json_equal(value[key], item) for key, item in operand.items()))
    if isinstance(operand, list):
        return (isinstance(value, list | tuple) and len(value) == len(operand)
                and all(json_equal(a, b) for a, b in zip(value, operand, strict=True)))
    return False


def equal_to(operand: Any) -> Predicate:
    """``value == operand`` specialised once for the operand's type (false on :data:`ABSENT`)."""
    if operand is None:
        return lambda value: value is None or is_null(value)
    if isinstance(operand, bool):
        return lambda value: value is operand or (isinstance(value, bool) and value == operand)
    if isinstance(operand, str):
        return lambda value: isinstance(value, str) and value == operand
    if isinstance(operand, int | float):
        target = float(operand)

        def equal_number(value: Any) -> bool:
            number = as_double(value)
            return number is not None and number == target
        return equal_number
    return lambda value: json_equal(value, operand)


def member_of(items: list[Any]) -> Predicate:
    """``value`` equals one of ``items``: scalars through one hashed lookup keyed by JSON type
    (so ``true`` never meets ``1``, and ``1`` meets ``1.0``), containers one by one."""
    if all(isinstance(item, str) for item in items):  # the common case: a set of names
        strings = frozenset(items)
        return lambda value: isinstance(value, str) and value in strings
    scalars: set[tuple[str, Any]] = set()
    containers: list[Any] = []
    for item in items:
        key = _scalar_key(item)
        if key is None:
            containers.append(item)
        else:
            scalars.add(key)

    def member(value: Any) -> bool:
        key = _scalar_key(value)
        if key is not None:
            return key in scalars
        return any(json_equal(value, item) for item in containers) if containers else False
    return member


def _scalar_key(value: Any) -> tuple[str, Any] | None:
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, bool):
        return ("bool", value)
    if is_null(value):
        return ("null", None)
    number = as_double(value)
    if number is not None:
        return ("number", number)
    return None
