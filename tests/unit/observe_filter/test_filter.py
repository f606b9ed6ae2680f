"""The public API (what the observe engine and the SDK code against) and the spec's examples."""

from __future__ import annotations

import ast
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

import pyiii.observe_filter as package
from pyiii.observe_filter import Filter, FilterError, FilterLimits, compile_filter
from tests.support.random_filters import Generator

ORDER = {"input": {"amount": 750, "items": [{"sku": "A-1", "qty": 2}], "a.b": 1},
         "output": {"ok": True}, "caller": {"worker_name": "shop"}, "metadata": {"tenant": "t1"}}


# (filter, document, expected): the examples of spec §5.12.7, each both ways.
SPEC_EXAMPLES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"input.amount": {"$gte": 500}}, ORDER, True),
    ({"input.amount": {"$gte": 500}}, {"input": {"amount": 499.5}}, False),
    ({"$or": [{"output.ok": {"$eq": True}}, {"error.code": {"$prefix": "inv"}}]}, ORDER, True),
    ({"$or": [{"output.ok": {"$eq": True}}, {"error.code": {"$prefix": "inv"}}]},
     {"input": {}, "error": {"code": "invalid_amount", "message": "x"}}, True),
    ({"$or": [{"output.ok": {"$eq": True}}, {"error.code": {"$prefix": "inv"}}]},
     {"input": {}, "error": {"code": "timeout"}}, False),
    ({"input.items": {"$any": {"@.sku": {"$in": ["A-1", "B-2"]}, "@.qty": {"$gt": 0}}}}, ORDER, True),
    ({"input.items": {"$any": {"@.sku": {"$in": ["A-1", "B-2"]}, "@.qty": {"$gt": 0}}}},
     {"input": {"items": [{"sku": "A-1", "qty": 0}, {"sku": "C", "qty": 1}]}}, False),
    ({"caller.worker_name": {"$ne": "tests"}, "metadata.tenant": {"$exists": True}}, ORDER, True),
    ({"caller.worker_name": {"$ne": "tests"}, "metadata.tenant": {"$exists": True}},
     {"metadata": {"tenant": None}}, True),  # no caller: $ne holds on absent; null exists
    ({"caller.worker_name": {"$ne": "tests"}, "metadata.tenant": {"$exists": True}},
     {"caller": {"worker_name": "tests"}, "metadata": {"tenant": "t"}}, False),
    ({"input.a\\.b": {"$eq": 1}}, ORDER, True),
    ({"input.a\\.b": {"$eq": 1}}, {"input": {"a": {"b": 1}}}, False),
]


@pytest.mark.parametrize(("source", "doc", "expected"), SPEC_EXAMPLES)
def test_spec_examples(source: dict[str, Any], doc: dict[str, Any], expected: bool) -> None:
    assert compile_filter(source).matches(doc) is expected


def test_match_all() -> None:
    f = compile_filter({})
    assert isinstance(f, Filter)
    assert f.match_all and f.roots == frozenset() and f.normal_form == {}
    assert f.matches({}) and f.matches(ORDER)
    assert not compile_filter({"$and": [{}]}).match_all  # written otherwise: evaluated, still true
    assert compile_filter({"$and": [{}]}).matches({})


def test_normal_form_is_the_filter_as_written_and_private() -> None:
    source = {"input.b": {"$in": [1, {"k": [2]}]}, "$or": [{"output": {"$exists": True}}], "input.a": {"$eq": 1}}
    f = compile_filter(source)
    assert f.normal_form == source
    assert list(f.normal_form) == list(source)  # key order kept: the same JSON every time
    source["input.b"]["$in"][1]["k"].append(3)  # the caller's object changing later changes nothing
    assert f.normal_form["input.b"]["$in"][1] == {"k": [2]}
    assert f.matches({"input": {"a": 1, "b": {"k": [2]}}, "output": None})
    f.normal_form["input.b"]["$in"].clear()  # nor does a change to the pushed JSON
    assert f.matches({"input": {"a": 1, "b": {"k": [2]}}, "output": None})
    again = compile_filter(f.normal_form, check_size=False)
    assert again.normal_form == f.normal_form


def test_size_check_can_be_skipped_for_filters_pushed_to_owners() -> None:
    big = {"input.a": {"$in": ["x" * 100] * 90}}
    with pytest.raises(FilterError, match="more than 8192"):
        compile_filter(big)
    assert compile_filter(big, check_size=False).matches({"input": {"a": "x" * 100}})
    with pytest.raises(FilterError, match="more than 100"):
        compile_filter({"input.a": {"$eq": "x" * 100}}, limits=FilterLimits(max_encoded_bytes=100))


def test_other_limits_still_apply_without_the_size_check() -> None:
    with pytest.raises(FilterError, match="more than 256"):
        compile_filter({"input.a": {"$in": list(range(257))}}, check_size=False)


def test_absent_root_versus_null_root() -> None:
    exists = compile_filter({"output": {"$exists": True}})
    assert exists.matches({"output": None}) and not exists.matches({"input": 1})
    null = compile_filter({"output": {"$eq": None}})
    assert null.matches({"output": None}) and not null.matches({})


def test_a_mapping_that_is_not_a_dict_is_a_document() -> None:
    f = compile_filter({"input.a": {"$eq": 1}})
    assert f.matches(OrderedDict(input={"a": 1}))


@pytest.mark.parametrize("doc", [None, 5, "input", [1], object()])
def test_a_non_mapping_document_is_an_empty_one(doc: Any) -> None:
    assert compile_filter({"input": {"$exists": False}}).matches(doc)
    assert not compile_filter({"input": {"$exists": True}}).matches(doc)


class Hostile(dict[str, Any]):
    def get(self, *_: Any) -> Any:
        raise RuntimeError("boom")


STRANGE_VALUES: list[Any] = [
    math.nan, math.inf, 10**400, -(10**400), b"x", object(), {1: 2}, {None: 1}, (1, 2), {1, 2}, Hostile(a=1),
    [Hostile()], 2**53 + 1, "\ud800", True, None, [], {}, [[[[]]]],
]


def test_evaluation_is_total() -> None:
    """Random valid filters on documents full of values with no JSON form never raise."""
    gen = Generator(7, broken=0.0)
    filters: list[Filter] = []
    while len(filters) < 300:
        try:
            filters.append(compile_filter(gen.filter()))
        except FilterError:
            continue
    for f in filters:
        for value in STRANGE_VALUES:
            for doc in ({"input": value}, {"input": {"a": value, "b": [value]}}, Hostile(input=1),
                        {root: {key: value for key in ("a", "b", "0", "1")} for root in ("input", "output")}):
                assert f.matches(doc) in (True, False)


def test_compile_raises_only_filter_errors() -> None:
    """Broken random filters and strange Python values are refused with FilterError, nothing else."""
    gen = Generator(11, broken=0.6)
    refused = 0
    for _ in range(1500):
        try:
            compile_filter(gen.filter())
        except FilterError as error:
            assert error.code == "INVALID_FILTER" and error.message
            refused += 1
    for value in STRANGE_VALUES:
        try:
            compile_filter({"input.a": {"$eq": value}})
        except FilterError:
            refused += 1
    assert refused > 300


def test_the_package_imports_nothing_else_of_pyiii() -> None:
    root = Path(package.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyiii"):
                assert node.module.startswith("pyiii.observe_filter"), f"{path.name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("pyiii") for a in node.names), path.name


def test_the_public_api() -> None:
    assert set(package.__all__) >= {"compile_filter", "Filter", "FilterError", "FilterLimits"}
