"""The update operations of spec/workers.md §6.4, directly (no engine needed)."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.adapters.kv.update_ops import MISSING, OpsDecodeError, apply_ops, parse_ops


def run(old: Any, ops: list[dict[str, Any]]) -> tuple[Any, list[str]]:
    new, errors = apply_ops(old, parse_ops(ops))
    return new, [e["code"] for e in errors]


def test_missing_key_starts_from_empty_object() -> None:
    assert run(MISSING, [{"type": "set", "path": "a", "value": 1}]) == ({"a": 1}, [])


def test_root_ops_on_missing_key() -> None:
    assert run(MISSING, [{"type": "increment", "path": "", "by": 3}]) == (3, [])
    assert run(MISSING, [{"type": "decrement", "path": "", "by": 3}]) == (-3, [])
    assert run(MISSING, [{"type": "append", "path": "", "value": "s"}]) == ("s", [])
    assert run(MISSING, [{"type": "append", "value": {"k": 1}}]) == ([{"k": 1}], [])
    assert run({"a": 1}, [{"type": "remove", "path": ""}]) == (None, [])
    assert run({"a": 1}, [{"type": "set", "path": ""}]) == (None, [])


def test_dots_are_literal_keys() -> None:
    assert run({}, [{"type": "set", "path": "a.b", "value": 1}]) == ({"a.b": 1}, [])


def test_merge_nested_creates_and_replaces_intermediates() -> None:
    new, errors = run({"a": 5}, [{"type": "merge", "path": ["a", "b"], "value": {"x": 1}}])
    assert (new, errors) == ({"a": {"b": {"x": 1}}}, [])
    assert run([1], [{"type": "merge", "value": {"x": 1}}]) == ([1], [])  # root non-object: no-op


@pytest.mark.parametrize(("ops", "code"), [
    ([{"type": "merge", "value": {"__proto__": 1}}], "merge.value.proto_polluted"),
    ([{"type": "merge", "path": ["a", ""], "value": {}}], "merge.path.empty_segment"),
    ([{"type": "merge", "path": ["x"] * 33, "value": {}}], "merge.path.too_deep"),
    ([{"type": "merge", "path": "k" * 257, "value": {}}], "merge.path.segment_too_long"),
    ([{"type": "merge", "value": {str(i): i for i in range(1025)}}], "merge.value.too_many_keys"),
    ([{"type": "merge", "value": {"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}}], "merge.value.too_deep"),
    ([{"type": "append", "path": "constructor", "value": 1}], "append.path.proto_polluted"),
    ([{"type": "increment", "path": "s", "by": 1}], "increment.not_number"),
    ([{"type": "decrement", "path": "n", "by": 2**63}, {"type": "decrement", "path": "n", "by": 2**63}],
     "decrement.not_number"),
    ([{"type": "append", "path": "s", "value": 1}], "append.type_mismatch"),
    ([{"type": "append", "path": "o", "value": 1}], "append.type_mismatch"),
])
def test_per_op_errors(ops: list[dict[str, Any]], code: str) -> None:
    old = {"s": "text", "n": 0, "o": {}}
    _new, codes = run(old, ops)
    assert code in codes
    assert old == {"s": "text", "n": 0, "o": {}}  # the input is never modified


def test_target_not_object_errors() -> None:
    for op in ("set", "increment", "decrement", "remove"):
        extra = {"by": 1} if op in ("increment", "decrement") else {"value": 1}
        assert run(5, [{"type": op, "path": "k", **extra}])[1] == [f"{op}.target_not_object"]
    assert run(5, [{"type": "append", "path": "k", "value": 1}])[1] == ["append.target_not_object"]


def test_append_semantics() -> None:
    old = {"arr": [1], "txt": "a", "nul": None}
    ops = [{"type": "append", "path": "arr", "value": 2}, {"type": "append", "path": "txt", "value": "b"},
           {"type": "append", "path": "nul", "value": "x"}, {"type": "append", "path": "new", "value": "y"},
           {"type": "append", "path": ["deep", "list"], "value": "z"}]
    assert run(old, ops) == ({"arr": [1, 2], "txt": "ab", "nul": "x", "new": "y", "deep": {"list": ["z"]}}, [])


def test_numbers() -> None:
    assert run({"f": 1.5, "n": None}, [{"type": "increment", "path": "f", "by": 2},
                                       {"type": "increment", "path": "n", "by": 1}]) == (
        {"f": 3.5, "n": None}, ["increment.not_number"])


@pytest.mark.parametrize("ops", [
    {"type": "set"}, [{"type": "nope"}], [{"type": "set", "value": 1}], [{"type": "increment", "path": "a"}],
    [{"type": "increment", "path": "a", "by": True}], [{"type": "merge", "path": "a"}], ["set"],
    [{"type": "merge", "path": 5, "value": {}}],
])
def test_malformed_ops_fail_the_call(ops: Any) -> None:
    with pytest.raises(OpsDecodeError):
        parse_ops(ops)
