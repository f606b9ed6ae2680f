"""The value operators (spec §5.12.3) except ``$any`` (which holds a filter: compiler.py).

Each builder checks its operand's type and limits and returns a predicate on the value at the
path, :data:`ABSENT` included: ``$ne``/``$nin`` hold on an absent path, ``$exists`` decides by
its operand, every other operator is false there.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Final

from pyiii.observe_filter.checks import nesting, shown
from pyiii.observe_filter.errors import FilterError
from pyiii.observe_filter.limits import FilterLimits
from pyiii.observe_filter.values import ABSENT, Predicate, as_double, equal_to, is_number, member_of

Builder = Callable[[Any, str, FilterLimits], Predicate]


def _literal(operand: Any, where: str, limits: FilterLimits) -> Any:
    depth = nesting(operand, limits.max_operand_nesting)
    if depth > limits.max_operand_nesting:
        raise FilterError(f"{shown(where)}: literal nests arrays/objects deeper than {limits.max_operand_nesting}")
    return operand


def _set(operand: Any, where: str, limits: FilterLimits) -> list[Any]:
    if not isinstance(operand, list):
        raise FilterError(f"{shown(where)}: operand must be an array")
    if len(operand) > limits.max_in_items:
        raise FilterError(f"{shown(where)}: {len(operand)} items, more than {limits.max_in_items}")
    for index, item in enumerate(operand):
        _literal(item, f"{where}[{index}]", limits)
    return operand


def eq(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    return equal_to(_literal(operand, where, limits))


def ne(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    equal = equal_to(_literal(operand, where, limits))
    return lambda value: value is ABSENT or not equal(value)


def in_(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    return member_of(_set(operand, where, limits))


def nin(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    member = member_of(_set(operand, where, limits))
    return lambda value: value is ABSENT or not member(value)


def _comparison(compare: Callable[[Any, Any], bool]) -> Builder:
    def build(operand: Any, where: str, limits: FilterLimits) -> Predicate:
        if isinstance(operand, str):
            text = operand
            return lambda value: isinstance(value, str) and compare(value, text)
        if is_number(operand):
            target = float(operand)

            def numeric(value: Any) -> bool:
                number = as_double(value)
                return number is not None and compare(number, target)
            return numeric
        raise FilterError(f"{shown(where)}: operand must be a number or a string")
    return build


def exists(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    if not isinstance(operand, bool):
        raise FilterError(f"{shown(where)}: operand must be true or false")
    if operand:
        return lambda value: value is not ABSENT
    return lambda value: value is ABSENT


def prefix(operand: Any, where: str, limits: FilterLimits) -> Predicate:
    if not isinstance(operand, str):
        raise FilterError(f"{shown(where)}: operand must be a string")
    start = operand
    return lambda value: isinstance(value, str) and value.startswith(start)


#: Every value operator but ``$any``.
VALUE_OPERATORS: Final[dict[str, Builder]] = {
    "$eq": eq,
    "$ne": ne,
    "$in": in_,
    "$nin": nin,
    "$gt": _comparison(operator.gt),
    "$gte": _comparison(operator.ge),
    "$lt": _comparison(operator.lt),
    "$lte": _comparison(operator.le),
    "$exists": exists,
    "$prefix": prefix,
}
ANY: Final = "$any"
