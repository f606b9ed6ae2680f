"""PLACEHOLDER of the ``iii-filter`` v1 language (spec iii-0.23-0.25 §5.12) with the API the
``obs-filter`` branch builds; that branch's package replaces this file at merge. Subset: paths
on the five roots, ``$eq $ne $in $nin $gt $gte $lt $lte $exists $prefix``, ``$and $or $not``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

ROOTS: Final = frozenset(("input", "output", "error", "caller", "metadata"))
_ABSENT: Final = object()
_VALUE_OPS: Final = frozenset(("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$prefix"))


class FilterError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = "INVALID_FILTER"
        self.message = message


@dataclass(frozen=True, slots=True)
class FilterLimits:
    max_depth: int = 8


class Filter:
    def __init__(self, obj: dict[str, Any], roots: frozenset[str]) -> None:
        self.normal_form = obj
        self.roots = roots
        self.match_all = not obj

    def matches(self, doc: dict[str, Any]) -> bool:
        try:
            return _eval(self.normal_form, doc)
        except Exception:
            return False


def compile_filter(obj: Any, limits: FilterLimits = FilterLimits(), check_size: bool = True) -> Filter:
    roots: set[str] = set()
    _check(obj, roots, 1, limits)
    return Filter(obj, frozenset(roots))


def _check(obj: Any, roots: set[str], depth: int, limits: FilterLimits) -> None:
    if not isinstance(obj, dict):
        raise FilterError("a filter must be an object")
    if depth > limits.max_depth:
        raise FilterError("filter nested too deeply")
    for key, value in obj.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise FilterError(f"`{key}` needs a non-empty array of filters")
            for item in value:
                _check(item, roots, depth + (key == "$or"), limits)
        elif key == "$not":
            _check(value, roots, depth + 1, limits)
        elif key.startswith("$"):
            raise FilterError(f"`{key}` is not allowed here")
        else:
            root = key.split(".", 1)[0]
            if root not in ROOTS:
                raise FilterError(f"`{key}`: unknown root")
            if not isinstance(value, dict) or not value or not all(k in _VALUE_OPS for k in value):
                raise FilterError(
                    f"`{key}`: expected an operator object such as {{\"$eq\": ...}}; literal values are not allowed"
                )
            roots.add(root)


def _resolve(doc: Any, path: str) -> Any:
    value = doc
    for segment in path.split("."):
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return _ABSENT
    return value


def _eval(obj: dict[str, Any], doc: dict[str, Any]) -> bool:
    for key, value in obj.items():
        if key == "$and":
            ok = all(_eval(item, doc) for item in value)
        elif key == "$or":
            ok = any(_eval(item, doc) for item in value)
        elif key == "$not":
            ok = not _eval(value, doc)
        else:
            ok = all(_op(op, operand, _resolve(doc, key)) for op, operand in value.items())
        if not ok:
            return False
    return True


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _op(op: str, operand: Any, value: Any) -> bool:
    if op == "$exists":
        return bool((value is not _ABSENT) == operand)
    if op in ("$ne", "$nin"):
        return value is _ABSENT or bool(value != operand if op == "$ne" else value not in operand)
    if value is _ABSENT:
        return False
    if op == "$eq":
        return bool(value == operand)
    if op == "$in":
        return bool(value in operand)
    if op == "$prefix":
        return isinstance(value, str) and value.startswith(operand)
    if not ((_num(value) and _num(operand)) or (isinstance(value, str) and isinstance(operand, str))):
        return False
    table = {"$gt": value > operand, "$gte": value >= operand, "$lt": value < operand, "$lte": value <= operand}
    return bool(table[op])


__all__ = ["Filter", "FilterError", "FilterLimits", "compile_filter"]
