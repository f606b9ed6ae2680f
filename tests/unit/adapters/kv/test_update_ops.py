"""``adapters/kv/update_ops.py``: the update operations of spec/workers.md §6.4, directly (pure, no
engine): every op type, per-op errors with their index, and decoding errors that name ``ops[i]``."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.adapters.kv.update_ops import (
    DOC_URL,
    MISSING,
    OpsDecodeError,
    UpdateOp,
    apply_ops,
    change_answer,
    or_none,
    parse_ops,
)


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


# ------------------------------------------------------------------ every op type


def test_set() -> None:
    assert run({"a": 1}, [{"type": "set", "path": "a", "value": {"n": [1]}}]) == ({"a": {"n": [1]}}, [])
    assert run({"a": 1}, [{"type": "set", "path": "b"}]) == ({"a": 1, "b": None}, [])  # no value: null
    assert run(MISSING, [{"type": "set", "path": "", "value": [1, 2]}]) == ([1, 2], [])


def test_merge() -> None:
    assert run({"a": 1, "b": {"x": 1}}, [{"type": "merge", "value": {"b": {"y": 2}, "c": 3}}]) == (
        {"a": 1, "b": {"y": 2}, "c": 3}, [])  # shallow: a top-level key is replaced, not merged into
    assert run({}, [{"type": "merge", "path": "", "value": {"k": 1}}]) == ({"k": 1}, [])
    assert run({}, [{"type": "merge", "path": [], "value": {"k": 1}}]) == ({"k": 1}, [])
    assert run({"p": {"old": 1}}, [{"type": "merge", "path": "p", "value": {"new": 2}}]) == (
        {"p": {"old": 1, "new": 2}}, [])
    assert run(MISSING, [{"type": "merge", "path": ["a", "b"], "value": {}}]) == ({"a": {"b": {}}}, [])


def test_increment_and_decrement() -> None:
    ops = [{"type": "increment", "path": "n", "by": 5}, {"type": "decrement", "path": "n", "by": 2},
           {"type": "increment", "path": "new", "by": 1.5}, {"type": "decrement", "path": "neg", "by": 4}]
    assert run({"n": 10}, ops) == ({"n": 13, "new": 1.5, "neg": -4}, [])
    assert run(7, [{"type": "increment", "path": "", "by": 1}]) == (8, [])
    assert run("x", [{"type": "increment", "path": "", "by": 1}]) == ("x", ["increment.not_number"])
    assert run({"b": True}, [{"type": "increment", "path": "b", "by": 1}])[1] == ["increment.not_number"]


def test_integer_overflow_is_not_a_number_and_leaves_the_value() -> None:
    assert run({"n": 2**64 - 2}, [{"type": "increment", "path": "n", "by": 1}]) == ({"n": 2**64 - 1}, [])
    assert run({"n": 2**64 - 1}, [{"type": "increment", "path": "n", "by": 1}]) == (
        {"n": 2**64 - 1}, ["increment.not_number"])
    assert run({"n": -(2**63)}, [{"type": "decrement", "path": "n", "by": 1}])[1] == ["decrement.not_number"]


def test_append() -> None:
    assert run([1], [{"type": "append", "value": 2}]) == ([1, 2], [])
    assert run("ab", [{"type": "append", "value": "c"}]) == ("abc", [])
    assert run(None, [{"type": "append", "value": 1}]) == ([1], [])
    assert run({"k": 1}, [{"type": "append", "value": 1}]) == ({"k": 1}, ["append.type_mismatch"])
    assert run(MISSING, [{"type": "append", "path": "first", "value": 1}]) == ({"first": [1]}, [])
    assert run({}, [{"type": "append", "path": ["a", "b"], "value": "s"}]) == ({"a": {"b": ["s"]}}, [])


def test_remove() -> None:
    assert run({"a": 1, "b": 2}, [{"type": "remove", "path": "a"}]) == ({"b": 2}, [])
    assert run({"b": 2}, [{"type": "remove", "path": "missing"}]) == ({"b": 2}, [])
    assert run(MISSING, [{"type": "remove", "path": ""}]) == (None, [])


def test_ops_run_in_order_and_a_failing_op_does_not_stop_the_rest() -> None:
    ops = [{"type": "set", "path": "n", "value": "text"}, {"type": "increment", "path": "n", "by": 1},
           {"type": "set", "path": "after", "value": True}]
    new, errors = apply_ops({}, parse_ops(ops))
    assert new == {"n": "text", "after": True}
    assert errors == [{"op_index": 1, "code": "increment.not_number",
                       "message": "Expected number at path 'n', got string.", "doc_url": DOC_URL}]


@pytest.mark.parametrize("op", ["set", "increment", "decrement", "append", "remove", "merge"])
def test_path_checks_apply_to_every_op_type(op: str) -> None:
    extra: dict[str, Any] = {"by": 1} if op in ("increment", "decrement") else {"value": {}}
    new, errors = apply_ops({"keep": 1}, parse_ops([{"type": op, "path": "__proto__", **extra}]))
    assert new == {"keep": 1} and [(e["op_index"], e["code"]) for e in errors] == [(0, f"{op}.path.proto_polluted")]


def test_error_messages_say_what_was_found() -> None:
    _new, errors = apply_ops(5, parse_ops([{"type": "set", "path": "k", "value": 1},
                                           {"type": "append", "path": ["a", "b"], "value": 1}]))
    assert [e["message"] for e in errors] == [
        "Cannot set at path 'k': target is number, expected object.",
        "Cannot append at path '[a, b]': target is number, expected object.",
    ]


def test_values_are_copied_in_and_the_old_value_is_never_touched() -> None:
    old = {"list": [1]}
    value = {"inner": [1]}
    ops = parse_ops([{"type": "merge", "value": value}, {"type": "append", "path": "list", "value": value}])
    new, _errors = apply_ops(old, ops)
    new["inner"].append(2)
    new["list"][1]["inner"].append(3)
    assert value == {"inner": [1]} and old == {"list": [1]}


# ------------------------------------------------------------------ decoding: errors name ops[i]


@pytest.mark.parametrize(("ops", "message"), [
    ({"type": "set"}, "`ops` must be an array of update operations, got object"),
    (None, "`ops` must be an array of update operations, got null"),
    ([{"type": "set", "path": "a"}, "x"], "ops[1]: expected an object with a `type`, got string"),
    ([{"type": "set", "path": "a"}, {"type": "nope"}],
     "ops[1]: unknown update op type 'nope'; expected one of set, merge, increment, decrement, append, remove"),
    ([{"path": "a"}], "ops[0]: unknown update op type None"),
    ([{"type": "set", "path": 1}], "ops[0]: `set` needs a string `path` (\"\" for the root), got number"),
    ([{"type": "remove"}], "ops[0]: `remove` needs a string `path`"),
    ([{"type": "set", "path": ""}, {"type": "set", "path": ""}, {"type": "increment", "path": "n", "by": "1"}],
     "ops[2]: `increment` needs a number `by`, got string"),
    ([{"type": "decrement", "path": "n", "by": None}], "ops[0]: `decrement` needs a number `by`, got null"),
    ([{"type": "merge", "path": "a"}], "ops[0]: `merge` needs a `value`"),
    ([{"type": "append", "path": "a"}], "ops[0]: `append` needs a `value`"),
    ([{"type": "append", "path": ["a", 1], "value": 1}], "ops[0]: `path` must be a string or an array of strings, "
                                                         "got array"),
])
def test_decoding_errors_name_the_op(ops: Any, message: str) -> None:
    with pytest.raises(OpsDecodeError) as raised:
        parse_ops(ops)
    assert message in str(raised.value)


def test_parsed_ops() -> None:
    assert parse_ops([{"type": "increment", "path": "n", "by": 2}, {"type": "merge", "path": ["a"], "value": {}},
                      {"type": "set", "path": "", "value": 1}]) == [
        UpdateOp("increment", ("n",), by=2), UpdateOp("merge", ("a",), {}, single=False), UpdateOp("set", (), 1)]
    assert parse_ops([]) == []


def test_missing_is_a_falsy_singleton_shown_as_null() -> None:
    assert not MISSING and repr(MISSING) == "MISSING" and type(MISSING)() is MISSING
    assert or_none(MISSING) is None and or_none(0) == 0


def test_a_change_is_answered_with_both_values_and_only_failed_operations() -> None:
    assert change_answer(MISSING, {"a": 1}) == {"old_value": None, "new_value": {"a": 1}}
    assert change_answer(0, 1, []) == {"old_value": 0, "new_value": 1}
    failed = [{"op_index": 0, "code": "x"}]
    assert change_answer(0, 0, failed) == {"old_value": 0, "new_value": 0, "errors": failed}
