from __future__ import annotations

import math
from typing import Any

import pytest

from pyiii.observe_filter.values import ABSENT, as_double, equal_to, is_null, json_equal, member_of


@pytest.mark.parametrize(("value", "expected"), [
    (1, 1.0), (1.5, 1.5), (-0.0, -0.0), (2**53 + 1, float(2**53)), (10**300, 1e300),
    (True, None), (False, None), ("1", None), (None, None), (ABSENT, None), ([1], None),
    (math.nan, None), (math.inf, None), (-math.inf, None), (10**400, None),
])
def test_as_double(value: Any, expected: float | None) -> None:
    assert as_double(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, True), (math.nan, True), (math.inf, True), (-(10**400), True),
    (0, False), (False, False), ("", False), (ABSENT, False), ([], False),
])
def test_the_json_form_of_non_finite_numbers_is_null(value: Any, expected: bool) -> None:
    assert is_null(value) is expected


#: (document value, filter operand, equal?)
EQUALITY = [
    (1, 1, True), (1.0, 1, True), (1, 1.0, True), (-0.0, 0, True), (0, -0.0, True),
    (2**53 + 1, 2**53, True),  # as doubles
    (True, 1, False), (1, True, False), (False, 0, False), (0, False, False), (True, True, True),
    (None, None, True), (None, False, False), (0, None, False), ("", None, False), (ABSENT, None, False),
    (math.nan, None, True), (math.nan, 0, False),
    ("a", "a", True), ("a", "A", False), ("1", 1, False), (1, "1", False),
    ([1, 2], [1, 2], True), ([2, 1], [1, 2], False), ([1], [1, 2], False), ((1, 2), [1, 2], True),
    ([1.0, [True]], [1, [True]], True), ([1, [1]], [1, [True]], False),
    ({"a": 1, "b": 2}, {"b": 2.0, "a": 1}, True), ({"a": 1}, {"a": 1, "b": 2}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False), ({"a": 1, "c": 2}, {"a": 1, "b": 2}, False),
    ({"a": None}, {"a": None}, True), ({}, {"a": None}, False), ({}, {}, True), ({}, [], False), ([], {}, False),
    ({"a": {"b": [1, {"c": None}]}}, {"a": {"b": [1, {"c": None}]}}, True),
    (ABSENT, 1, False), (ABSENT, "x", False), (ABSENT, [], False), (ABSENT, True, False),
]


@pytest.mark.parametrize(("value", "operand", "expected"), EQUALITY)
def test_json_equal(value: Any, operand: Any, expected: bool) -> None:
    assert json_equal(value, operand) is expected


@pytest.mark.parametrize(("value", "operand", "expected"), EQUALITY)
def test_specialised_equality_agrees_with_json_equal(value: Any, operand: Any, expected: bool) -> None:
    assert equal_to(operand)(value) is expected


ITEMS = [1, "1", True, None, [1], {"a": 1}]


@pytest.mark.parametrize(("value", "expected"), [
    (1, True), (1.0, True), ("1", True), (True, True), (False, False), (None, True), (math.inf, True),
    (2, False), ([1], True), ([1.0], True), ([True], False), ({"a": 1.0}, True), ({"a": 2}, False),
    ("x", False), (ABSENT, False), ([], False), (-0.0, False),
])
def test_membership(value: Any, expected: bool) -> None:
    assert member_of(ITEMS)(value) is expected


def test_membership_without_containers_and_of_zero() -> None:
    assert member_of([0])(-0.0) and not member_of([0])(False)
    assert not member_of([])(1) and not member_of([])(None)
