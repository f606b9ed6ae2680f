"""Evaluation tables of every value operator (spec §5.12.3), through a one-clause filter on
``input.v`` so that absent (no ``v``), ``null`` and every JSON type are covered."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pyiii.observe_filter import FilterError, compile_filter

ABSENT_DOC: dict[str, Any] = {"input": {}}


def holds(operators: dict[str, Any], value: Any) -> bool:
    doc = ABSENT_DOC if value is ABSENT_DOC else {"input": {"v": value}}
    return compile_filter({"input.v": operators}).matches(doc)


# (operator object, value or ABSENT_DOC for an absent path, expected)
TABLE: list[tuple[dict[str, Any], Any, bool]] = [
    ({"$eq": 1}, 1, True), ({"$eq": 1}, 1.0, True), ({"$eq": 1}, True, False), ({"$eq": 0}, -0.0, True),
    ({"$eq": None}, None, True), ({"$eq": None}, ABSENT_DOC, False), ({"$eq": 1}, ABSENT_DOC, False),
    ({"$eq": {"a": [1, 2]}}, {"a": [1.0, 2]}, True), ({"$eq": [1, 2]}, [2, 1], False),
    ({"$ne": 1}, ABSENT_DOC, True), ({"$ne": None}, ABSENT_DOC, True), ({"$ne": None}, None, False),
    ({"$ne": 1}, 1.0, False), ({"$ne": 1}, "1", True), ({"$ne": 1}, True, True),
    ({"$in": [1, "a"]}, 1, True), ({"$in": [1, "a"]}, "a", True), ({"$in": [1, "a"]}, True, False),
    ({"$in": [1, "a"]}, ABSENT_DOC, False), ({"$in": [None]}, ABSENT_DOC, False), ({"$in": []}, 1, False),
    ({"$in": [[1], {"k": None}]}, {"k": None}, True),
    ({"$nin": [1, "a"]}, ABSENT_DOC, True), ({"$nin": [1, "a"]}, 1.0, False), ({"$nin": [1]}, True, True),
    ({"$nin": []}, None, True),
    ({"$gt": 1}, 2, True), ({"$gt": 1}, 1, False), ({"$gt": 1}, 1.5, True), ({"$gt": 1}, "2", False),
    ({"$gt": 0}, True, False), ({"$gt": 1}, ABSENT_DOC, False), ({"$gt": 1}, None, False), ({"$gt": 1}, [2], False),
    ({"$gte": 1}, 1.0, True), ({"$gte": 1}, 0.5, False), ({"$lt": 0}, -0.0, False), ({"$lte": 0}, -0.0, True),
    ({"$lt": 2**53}, 2**53 + 1, False),  # as doubles, 2^53 + 1 is 2^53
    ({"$gt": "b"}, "c", True), ({"$gt": "b"}, "ba", True), ({"$gt": "b"}, "B", False), ({"$gt": "b"}, 5, False),
    ({"$lt": "a"}, "", True), ({"$gt": "\uffff"}, "😀", True),  # code point, not UTF-16 unit
    ({"$gte": "é"}, "é", True), ({"$lte": "a"}, ABSENT_DOC, False),
    ({"$gt": 1, "$lt": 3}, 2, True), ({"$gt": 1, "$lt": 3}, 3, False),  # several operators: AND
    ({"$exists": True}, None, True), ({"$exists": True}, ABSENT_DOC, False), ({"$exists": True}, False, True),
    ({"$exists": False}, ABSENT_DOC, True), ({"$exists": False}, None, False),
    ({"$prefix": "ab"}, "abc", True), ({"$prefix": "ab"}, "ab", True), ({"$prefix": "ab"}, "a", False),
    ({"$prefix": ""}, "", True), ({"$prefix": ""}, 1, False), ({"$prefix": "1"}, 12, False),
    ({"$prefix": "a"}, ABSENT_DOC, False), ({"$prefix": "a"}, ["a"], False),
]


@pytest.mark.parametrize(("operators", "value", "expected"), TABLE)
def test_operator_table(operators: dict[str, Any], value: Any, expected: bool) -> None:
    assert holds(operators, value) is expected


@pytest.mark.parametrize(("operators", "message"), [
    ({"$in": 1}, "`input.v.$in`: operand must be an array"),
    ({"$nin": {"a": 1}}, "`input.v.$nin`: operand must be an array"),
    ({"$gt": True}, "`input.v.$gt`: operand must be a number or a string"),
    ({"$lte": None}, "operand must be a number or a string"),
    ({"$lt": [1]}, "operand must be a number or a string"),
    ({"$exists": 1}, "`input.v.$exists`: operand must be true or false"),
    ({"$exists": None}, "operand must be true or false"),
    ({"$prefix": 1}, "`input.v.$prefix`: operand must be a string"),
    ({"$any": 1}, "`input.v.$any`: operand must be an operator object or a filter over `@`"),
    ({"$any": []}, "operand must be an operator object"),
])
def test_operand_types_are_checked_when_compiling(operators: dict[str, Any], message: str) -> None:
    with pytest.raises(FilterError, match=re.escape(message)):
        compile_filter({"input.v": operators})


@pytest.mark.parametrize("operator", ["$in", "$nin"])
def test_set_size_boundary(operator: str) -> None:
    compile_filter({"input.v": {operator: list(range(256))}})
    with pytest.raises(FilterError, match=re.escape(f"`input.v.{operator}`: 257 items, more than 256")):
        compile_filter({"input.v": {operator: list(range(257))}})


def nest(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("operator", ["$eq", "$ne"])
def test_operand_nesting_boundary(operator: str) -> None:
    assert compile_filter({"input.v": {operator: nest(32)}}).matches({"input": {"v": nest(32)}}) is (operator == "$eq")
    message = f"`input.v.{operator}`: literal nests arrays/objects deeper than 32"
    with pytest.raises(FilterError, match=re.escape(message)):
        compile_filter({"input.v": {operator: nest(33)}})


@pytest.mark.parametrize("operator", ["$in", "$nin"])
def test_set_item_nesting_boundary(operator: str) -> None:
    """The limit is per item: the ``$in`` array itself does not count."""
    compile_filter({"input.v": {operator: [nest(32), 1]}})
    with pytest.raises(FilterError, match=re.escape(f"`input.v.{operator}[1]`: literal nests")):
        compile_filter({"input.v": {operator: [1, nest(33)]}})

