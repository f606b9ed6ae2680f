"""The filter structure (spec §5.12.1) compiled into one predicate over the match document.

Keys of a filter are paths (each mapped to an operator object) or ``$and``/``$or``/``$not``;
several keys are ANDed, as are several operators on one path. Depth and node limits are counted
here exactly as §5.12.4 says: ``$or`` items, the ``$not`` operand and the ``$any`` operand sit
one level deeper, ``$and`` items at their parent's level; each value operator, ``$or`` and
``$not`` is a node, paths and ``$and`` are free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyiii.observe_filter.budget import Budget, BudgetExhausted
from pyiii.observe_filter.checks import location, shown
from pyiii.observe_filter.errors import FilterError
from pyiii.observe_filter.limits import FilterLimits
from pyiii.observe_filter.operators import ANY, VALUE_OPERATORS
from pyiii.observe_filter.paths import ELEMENT_ROOT, parse_path, resolver
from pyiii.observe_filter.values import Predicate

#: A compiled filter: scope (the match document, or an ``$any`` element) -> match.
Clause = Callable[[Any], bool]

AND, OR, NOT = "$and", "$or", "$not"


def always(_: Any) -> bool:
    return True


def all_of(parts: Sequence[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if not parts:
        return always
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda x: first(x) and second(x)
    chain = tuple(parts)

    def every(x: Any) -> bool:
        for part in chain:
            if not part(x):
                return False
        return True
    return every


def any_of(parts: Sequence[Clause]) -> Clause:
    if len(parts) == 1:
        return parts[0]
    chain = tuple(parts)

    def some(x: Any) -> bool:
        for part in chain:
            if part(x):
                return True
        return False
    return some


def negation(inner: Clause) -> Clause:
    return lambda scope: not inner(scope)


class Compiler:
    """One compilation: the limits, the running node count, the document roots read and the
    evaluation budget the ``$any`` closures spend."""

    def __init__(self, limits: FilterLimits) -> None:
        self.limits = limits
        self.nodes = 0
        self.roots: set[str] = set()
        self.budget = Budget(limits.max_any_elements)

    def _node(self, where: str) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise FilterError(f"{shown(where)}: more than {self.limits.max_nodes} operator/clause nodes")

    def _depth(self, depth: int, where: str) -> None:
        if depth > self.limits.max_depth:
            raise FilterError(f"{shown(where)}: filter nested deeper than {self.limits.max_depth}")

    def filter(self, value: Any, where: str, depth: int, in_any: bool) -> Clause:
        if not isinstance(value, dict):
            raise FilterError(f"{shown(where)}: a filter must be an object")
        self._depth(depth, where)
        clauses: list[Clause] = []
        for key, operand in value.items():
            here = location(where, key)
            if key == AND:
                clauses.append(all_of(self._filters(operand, here, depth, in_any)))
            elif key == OR:
                self._node(here)
                clauses.append(any_of(self._filters(operand, here, depth + 1, in_any)))
            elif key == NOT:
                self._node(here)
                clauses.append(negation(self.filter(operand, here, depth + 1, in_any)))
            elif key.startswith("$"):
                what = "a value operator needs a path as its key" if key in VALUE_OPERATORS or key == ANY \
                    else "unknown operator"
                raise FilterError(f"{shown(here)}: {what}")
            else:
                clauses.append(self._path_clause(key, operand, here, depth, in_any))
        return all_of(clauses)

    def _filters(self, items: Any, where: str, depth: int, in_any: bool) -> list[Clause]:
        if not isinstance(items, list) or not items:
            raise FilterError(f"{shown(where)}: must be a non-empty array of filters")
        return [self.filter(item, location(where, index), depth, in_any) for index, item in enumerate(items)]

    def _path_clause(self, text: str, operators: Any, where: str, depth: int, in_any: bool) -> Clause:
        path = parse_path(text, in_any=in_any, max_segments=self.limits.max_path_segments)
        if path.root != ELEMENT_ROOT:
            self.roots.add(path.root)
        test = self.operators(operators, where, depth)
        resolve = resolver(path)
        return lambda scope: test(resolve(scope))

    def operators(self, value: Any, where: str, depth: int) -> Predicate:
        """An operator object: non-empty, every key a value operator, all ANDed."""
        if not isinstance(value, dict) or not value:
            raise FilterError(f"{shown(where)}: expected a non-empty operator object such as "
                              '{"$eq": ...} (a bare literal is not shorthand for $eq)')
        tests: list[Predicate] = []
        for key, operand in value.items():
            here = location(where, key)
            builder = VALUE_OPERATORS.get(key)
            if builder is not None:
                self._node(here)
                tests.append(builder(operand, here, self.limits))
            elif key == ANY:
                self._node(here)
                tests.append(self._any(operand, here, depth + 1))
            else:
                what = "is a clause, not a value operator" if key in (AND, OR, NOT) else "unknown operator"
                raise FilterError(f"{shown(here)}: {what}")
        return all_of(tests)

    def _any(self, operand: Any, where: str, depth: int) -> Predicate:
        """``$any``: true when the value is an array and one element satisfies the operand, an
        operator object (on the element) or a filter over ``@``; ``{}`` wants a non-empty array."""
        if not isinstance(operand, dict):
            raise FilterError(f"{shown(where)}: operand must be an operator object or a filter over `@`")
        self._depth(depth, where)
        if not operand:
            return lambda value: isinstance(value, list | tuple) and len(value) > 0
        if any(key in VALUE_OPERATORS or key == ANY for key in operand):
            element = self.operators(operand, where, depth)
        else:
            element = self.filter(operand, where, depth, in_any=True)

        budget = self.budget

        def some_element(value: Any) -> bool:
            if not isinstance(value, list | tuple):
                return False
            for item in value:
                budget.left -= 1
                if budget.left < 0:
                    raise BudgetExhausted
                if element(item):
                    return True
            return False
        return some_element
