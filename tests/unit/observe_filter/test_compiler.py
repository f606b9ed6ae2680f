"""Structure (spec §5.12.1), depth and node counting (§5.12.4), ``$any`` (§5.12.3)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pyiii.observe_filter import FilterError, FilterLimits, compile_filter

ONE = {"input.a": {"$eq": 1}}
DOC_A1 = {"input": {"a": 1}}


def invalid(source: Any, message: str, limits: FilterLimits | None = None) -> None:
    with pytest.raises(FilterError, match=re.escape(message)) as caught:
        compile_filter(source, limits=limits or FilterLimits())
    assert caught.value.code == "INVALID_FILTER"


# ----------------------------------------------------------------------------- structure

@pytest.mark.parametrize(("source", "message"), [
    ([], "the filter: a filter must be an object"),
    (None, "a filter must be an object"),
    ("input.a", "a filter must be an object"),
    ({"$eq": 1}, "`$eq`: a value operator needs a path as its key"),
    ({"$any": {}}, "`$any`: a value operator needs a path as its key"),
    ({"$nor": [ONE]}, "`$nor`: unknown operator"),
    ({"input.a": 5}, "`input.a`: expected a non-empty operator object"),
    ({"input.a": None}, "`input.a`: expected a non-empty operator object"),
    ({"input.a": {}}, "`input.a`: expected a non-empty operator object"),
    ({"input.a": {"a": 1}}, "`input.a.a`: unknown operator"),
    ({"input.a": {"$eq": 1, "$regex": "x"}}, "`input.a.$regex`: unknown operator"),
    ({"input.a": {"$and": [ONE]}}, "`input.a.$and`: is a clause, not a value operator"),
    ({"input.a": {"$not": ONE}}, "is a clause, not a value operator"),
    ({"$and": []}, "`$and`: must be a non-empty array of filters"),
    ({"$and": ONE}, "`$and`: must be a non-empty array of filters"),
    ({"$or": []}, "`$or`: must be a non-empty array of filters"),
    ({"$or": [ONE, 1]}, "`$or[1]`: a filter must be an object"),
    ({"$not": [ONE]}, "`$not`: a filter must be an object"),
    ({"$or": [{"input.b": {"$gt": [1]}}]}, "`$or[0].input.b.$gt`: operand must be a number or a string"),
])
def test_structure_rules(source: Any, message: str) -> None:
    invalid(source, message)


@pytest.mark.parametrize(("source", "doc", "expected"), [
    ({}, {}, True),
    ({"input.a": {"$eq": 1}, "input.b": {"$eq": 2}}, {"input": {"a": 1, "b": 2}}, True),  # keys: AND
    ({"input.a": {"$eq": 1}, "input.b": {"$eq": 2}}, {"input": {"a": 1, "b": 3}}, False),
    ({"$and": [ONE, {"input.b": {"$exists": False}}]}, DOC_A1, True),
    ({"$and": [ONE, {"input.b": {"$exists": True}}]}, DOC_A1, False),
    ({"$and": [{}]}, {}, True),
    ({"$or": [{"input.a": {"$eq": 2}}, ONE]}, DOC_A1, True),
    ({"$or": [{"input.a": {"$eq": 2}}, {"input.a": {"$eq": 3}}]}, DOC_A1, False),
    ({"$or": [{}]}, {}, True),
    ({"$not": ONE}, DOC_A1, False),
    ({"$not": ONE}, {}, True),
    ({"$not": {}}, {}, False),
    ({"$not": {"$not": ONE}}, DOC_A1, True),
    ({"$or": [ONE], "$not": ONE}, DOC_A1, False),
])
def test_combinators(source: Any, doc: Any, expected: bool) -> None:
    assert compile_filter(source).matches(doc) is expected


# ----------------------------------------------------------------------------- depth

def chain(key: str, levels: int) -> Any:
    f: Any = ONE
    for _ in range(levels):
        f = {key: [f]} if key in ("$or", "$and") else {key: f}
    return f


@pytest.mark.parametrize("key", ["$or", "$not"])
def test_or_and_not_add_a_level(key: str) -> None:
    compile_filter(chain(key, 7))  # depth 8
    invalid(chain(key, 8), "filter nested deeper than 8")


def test_and_adds_no_level() -> None:
    compiled = compile_filter(chain("$and", 30))
    assert compiled.matches(DOC_A1) and not compiled.matches({})
    compile_filter({"$and": [chain("$or", 7)]})
    invalid({"$and": [chain("$or", 8)]}, "filter nested deeper than 8")


def any_chain(levels: int) -> Any:
    operators: Any = {"$eq": 1}
    for _ in range(levels):
        operators = {"$any": operators}
    return {"input.a": operators}


def test_any_adds_a_level_for_an_operator_object_and_for_a_filter() -> None:
    compile_filter(any_chain(7))
    invalid(any_chain(8), "nested deeper than 8")
    at_eight: Any = {"@": {"$eq": 1}}
    for _ in range(3):  # $any +1 then $or +1: two levels per round, 2 + 3 * 2 = 8
        at_eight = {"@": {"$any": {"$or": [at_eight]}}}
    compile_filter({"input.a": {"$any": at_eight}})
    invalid({"input.a": {"$any": {"$not": at_eight}}}, "nested deeper than 8")


def test_depth_limit_is_configurable() -> None:
    compile_filter(chain("$or", 2), limits=FilterLimits(max_depth=3))
    invalid(chain("$or", 3), "`$or[0].$or[0].$or[0]`: filter nested deeper than 3", FilterLimits(max_depth=3))


# ----------------------------------------------------------------------------- nodes

def exists(count: int) -> dict[str, Any]:
    return {f"input.k{i}": {"$exists": True} for i in range(count)}


def test_value_operators_count_one_node_each() -> None:
    compile_filter(exists(64))
    invalid(exists(65), "more than 64 operator/clause nodes")
    compile_filter({"input.a": {f"$g{c}": 1 for c in ("t", "te")}, **exists(62)})
    invalid({"input.a": {"$gt": 1, "$gte": 1, "$lt": 9}, **exists(62)}, "more than 64")


def test_or_and_not_count_paths_and_and_are_free() -> None:
    compile_filter({"$or": [exists(63)]})  # 63 + the $or
    invalid({"$or": [exists(64)]}, "`$or[0].input.k63.$exists`: more than 64")
    compile_filter({"$not": exists(63)})
    invalid({"$not": exists(64)}, "more than 64")
    compile_filter({"$and": [exists(32), exists(32)]})
    invalid({"$and": [exists(32), exists(33)]}, "more than 64")


def test_any_counts_itself_and_its_operand() -> None:
    compile_filter({"input.a": {"$any": {"$eq": 1}}, **exists(62)})
    invalid({"input.a": {"$any": {"$eq": 1}}, **exists(63)}, "more than 64")
    compile_filter({"input.a": {"$any": {}}, **exists(63)})


def test_node_limit_is_configurable() -> None:
    compile_filter(exists(2), limits=FilterLimits(max_nodes=2))
    invalid(exists(3), "more than 2", FilterLimits(max_nodes=2))


# ----------------------------------------------------------------------------- $any

@pytest.mark.parametrize(("operand", "value", "expected"), [
    ({}, [0], True), ({}, [], False), ({}, {"a": 1}, False), ({}, "ab", False), ({}, None, False),
    ({"$gt": 2}, [1, 3], True), ({"$gt": 2}, [1, 2], False), ({"$gt": 2}, 3, False),
    ({"$gt": 1, "$lt": 3}, [0, 5], False),  # one element must satisfy the whole operator object
    ({"$gt": 1, "$lt": 3}, [0, 2], True),
    ({"$exists": True}, [None], True), ({"$eq": None}, [None], True), ({"$ne": 1}, [1, 1], False),
    ({"$any": {"$eq": 1}}, [[0], [1]], True), ({"$any": {"$eq": 1}}, [1], False),
    ({"@.sku": {"$in": ["A-1"]}, "@.qty": {"$gt": 0}}, [{"sku": "A-1", "qty": 0}, {"sku": "B", "qty": 1}], False),
    ({"@.sku": {"$in": ["A-1"]}, "@.qty": {"$gt": 0}}, [{"sku": "B", "qty": 1}, {"sku": "A-1", "qty": 2}], True),
    ({"@": {"$eq": 2}}, [1, 2], True),
    ({"@.x": {"$exists": False}}, [{"x": 1}, {}], True), ({"@.x": {"$exists": False}}, [{"x": 1}], False),
    ({"@.x": {"$exists": False}}, [5], True),  # a scalar element has no x
    ({"$or": [{"@": {"$eq": 1}}, {"@.k": {"$eq": 1}}]}, [{"k": 1}], True),
    ({"$not": {"@": {"$eq": 1}}}, [1, 1], False), ({"$not": {"@": {"$eq": 1}}}, [1, 2], True),
    ({"$and": [{"@.a": {"$eq": 1}}]}, [{"a": 1}], True),
    ({"@.list": {"$any": {"@.k": {"$eq": 1}}}}, [{"list": [{"k": 0}]}, {"list": [{"k": 1}]}], True),
])
def test_any(operand: Any, value: Any, expected: bool) -> None:
    assert compile_filter({"input.v": {"$any": operand}}).matches({"input": {"v": value}}) is expected


def test_any_on_an_absent_path_is_false() -> None:
    assert not compile_filter({"input.v": {"$any": {}}}).matches({"input": {}})


@pytest.mark.parametrize(("operand", "message"), [
    ({"input.a": {"$eq": 1}}, "path `input.a`: inside $any a path starts with `@`"),
    ({"@": {"$eq": 1}, "$eq": 1}, "`input.v.$any.@`: unknown operator"),
    ({"$eq": 1, "$and": [{}]}, "`input.v.$any.$and`: is a clause"),
    ({"$bogus": 1}, "`input.v.$any.$bogus`: unknown operator"),
])
def test_any_operand_is_either_operators_or_an_element_filter(operand: Any, message: str) -> None:
    invalid({"input.v": {"$any": operand}}, message)


def test_the_element_root_is_refused_outside_any() -> None:
    invalid({"@.a": {"$eq": 1}}, "`@` only inside $any")
    invalid({"input.v": {"$any": {"@.a": {"$any": {"input.x": {"$eq": 1}}}}}}, "inside $any a path starts with `@`")


# ----------------------------------------------------------------------------- roots

@pytest.mark.parametrize(("source", "roots"), [
    ({}, set()),
    ({"input.a": {"$eq": 1}}, {"input"}),
    ({"$or": [{"output": {"$exists": True}}, {"error.code": {"$prefix": "x"}}]}, {"output", "error"}),
    ({"$not": {"caller.worker_name": {"$eq": "w"}}, "metadata.t": {"$exists": False}}, {"caller", "metadata"}),
    ({"input.items": {"$any": {"@.x": {"$eq": 1}}}}, {"input"}),
])
def test_roots(source: Any, roots: set[str]) -> None:
    assert compile_filter(source).roots == frozenset(roots)
