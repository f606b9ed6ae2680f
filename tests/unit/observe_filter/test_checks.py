from __future__ import annotations

import math
import re
from typing import Any

import pytest

from pyiii.observe_filter import FilterError, FilterLimits
from pyiii.observe_filter.checks import check_size, check_value, encoded_size, location, nesting
from tests.support.random_filters import nested

LIMITS = FilterLimits()


@pytest.mark.parametrize("value", [
    {}, {"input.a": {"$eq": [1, "x", None, True, 1.5, {"k": -2}]}}, {"input.a": {"$eq": 2**53}},
    {"input.a": {"$eq": -(2**53)}}, {"input.a": {"$eq": float(2**53)}}, {"input.a": {"$eq": "😀"}},
])
def test_plain_json_passes(value: Any) -> None:
    check_value(value, LIMITS)


@pytest.mark.parametrize(("value", "message"), [
    ({"input.a": {"$eq": 2**53 + 1}}, "`input.a.$eq`: number 9007199254740993 is outside ±9007199254740992"),
    ({"input.a": {"$in": [1, -(2**53) - 1]}}, "`input.a.$in[1]`: number"),
    ({"input.a": {"$eq": 1e300}}, "outside"),
    ({"input.a": {"$eq": math.nan}}, "`input.a.$eq`: number nan is not finite"),
    ({"input.a": {"$eq": math.inf}}, "not finite"),
    ({"input.a": {"$eq": -math.inf}}, "not finite"),
    ({"input.a": {"$eq": "\ud800"}}, "not valid Unicode (lone surrogate)"),
    ({"input.a": {"$eq": "ok\udfffok"}}, "lone surrogate"),
    ({"input.\udc00": {"$eq": 1}}, "object key"),
    ({"input.a": {"$eq": {"\ud83d": 1}}}, "object key"),
    ({1: {"$eq": 1}}, "object key 1 is not a string"),
    ({"input.a": {"$eq": (1, 2)}}, "`input.a.$eq`: tuple is not a JSON value"),
    ({"input.a": {"$eq": b"x"}}, "bytes is not a JSON value"),
    ({"input.a": {"$eq": {1, 2}}}, "set is not a JSON value"),
])
def test_non_json_and_out_of_range_values(value: Any, message: str) -> None:
    with pytest.raises(FilterError, match=re.escape(message)):
        check_value(value, LIMITS)


def test_the_number_limit_is_configurable() -> None:
    check_value({"input.a": {"$eq": 100}}, FilterLimits(max_abs_number=100))
    with pytest.raises(FilterError, match="outside ±100"):
        check_value({"input.a": {"$eq": -101}}, FilterLimits(max_abs_number=100))


def test_whole_value_nesting_boundary() -> None:
    check_value(nested(120, 1, "list"), LIMITS)
    check_value(nested(120, 1, "dict"), LIMITS)
    with pytest.raises(FilterError, match="nested deeper than 120"):
        check_value(nested(121, 1, "dict"), LIMITS)
    with pytest.raises(FilterError, match=re.escape("`a[0]`: arrays/objects nested deeper than 2")):
        check_value({"a": [{}]}, FilterLimits(max_nesting=2))


def test_hostile_nesting_costs_no_recursion() -> None:
    with pytest.raises(FilterError, match="nested deeper"):
        check_value(nested(100_000, 1, "list"), LIMITS)


@pytest.mark.parametrize(("value", "depth"), [
    (1, 0), ([], 1), ({}, 1), ([[], {"a": [1]}], 3), (nested(40, None, "dict"), 33),
])
def test_nesting_counts_up_to_one_past_the_limit(value: Any, depth: int) -> None:
    assert nesting(value, 32) == depth


def test_encoded_size_is_compact_utf8() -> None:
    value = {"input.a": {"$eq": ["é", 1, None]}}
    assert encoded_size(value) == len('{"input.a":{"$eq":["é",1,null]}}'.encode()) == 33
    assert encoded_size({"x": math.nan}) is None
    assert encoded_size({"x": object()}) is None


@pytest.mark.parametrize("char", ["a", "é", "😀"])
def test_size_boundary(char: str) -> None:
    skeleton = len('{"input.a":{"$eq":""}}')
    fits = {"input.a": {"$eq": char * ((8192 - skeleton) // len(char.encode()))}}
    pad = 8192 - skeleton - len(fits["input.a"]["$eq"].encode())
    fits["input.a"]["$eq"] += "a" * pad
    assert encoded_size(fits) == 8192
    check_size(fits, LIMITS)
    over = {"input.a": {"$eq": fits["input.a"]["$eq"] + "a"}}
    with pytest.raises(FilterError, match="8193 bytes of compact JSON, more than 8192"):
        check_size(over, LIMITS)


def test_location_names_keys_and_positions() -> None:
    assert location("", "input.x") == "input.x"
    assert location("input.x", "$in") == "input.x.$in"
    assert location("input.x.$in", 3) == "input.x.$in[3]"
