"""Every state function through the official Python SDK, on every adapter."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from tests.integration.state.kvsupport import call, call_concurrently, unique


def test_set_get_delete_list_shapes(worker: Any) -> None:
    scope = unique("users")
    assert call(worker, "state::get", {"scope": scope, "key": "u1"}) is None
    assert call(worker, "state::set", {"scope": scope, "key": "u1", "value": {"n": 1}}) == {
        "old_value": None, "new_value": {"n": 1}}
    assert call(worker, "state::set", {"scope": scope, "key": "u1", "value": {"n": 2}}) == {
        "old_value": {"n": 1}, "new_value": {"n": 2}}
    # `data` is an accepted alias of `value`
    call(worker, "state::set", {"scope": scope, "key": "u2", "data": [1, 2]})
    call(worker, "state::set", {"scope": scope, "key": "u0", "value": None})
    assert call(worker, "state::get", {"scope": scope, "key": "u1"}) == {"n": 2}
    assert call(worker, "state::list", {"scope": scope}) == [{"n": 2}, [1, 2], None]
    assert scope in call(worker, "state::list_groups", {})["groups"]
    assert call(worker, "state::delete", {"scope": scope, "key": "u1"}) == {"n": 2}
    assert call(worker, "state::delete", {"scope": scope, "key": "u1"}) is None
    assert call(worker, "state::list", {"scope": unique("nobody")}) == []


def test_update_ops_and_per_op_errors(worker: Any) -> None:
    scope = unique("c")
    result = call(worker, "state::update", {"scope": scope, "key": "k", "ops": [
        {"type": "increment", "path": "count", "by": 2},
        {"type": "set", "path": "status", "value": "ok"},
        {"type": "merge", "path": ["a", "b"], "value": {"x": 1}},
        {"type": "append", "path": "log", "value": "hi"},
        {"type": "increment", "path": "status", "by": 1},
        {"type": "decrement", "path": "count", "by": 5},
        {"type": "remove", "path": "gone"},
    ]})
    assert result["old_value"] is None
    assert result["new_value"] == {"count": -3, "status": "ok", "a": {"b": {"x": 1}}, "log": "hi"}
    assert [(e["op_index"], e["code"]) for e in result["errors"]] == [(4, "increment.not_number")]
    append = [{"type": "append", "path": "log", "value": "!"}]
    again = call(worker, "state::update", {"scope": scope, "key": "k", "ops": append})
    assert again["old_value"]["log"] == "hi" and again["new_value"]["log"] == "hi!"
    assert "errors" not in again


def test_64_concurrent_increments_are_exact(worker: Any) -> None:
    scope = unique("counter")
    op = {"scope": scope, "key": "hits", "ops": [{"type": "increment", "path": "n", "by": 1}]}
    results = call_concurrently(worker, [("state::update", op)] * 64)
    assert call(worker, "state::get", {"scope": scope, "key": "hits"}) == {"n": 64}
    # every caller saw a distinct step of the counter
    assert sorted(r["new_value"]["n"] for r in results) == list(range(1, 65))


@pytest.mark.parametrize(("function_id", "payload", "needle"), [
    ("state::set", {"key": "k", "value": 1}, "scope"),
    ("state::get", {"scope": 5, "key": "k"}, "str"),
    ("state::update", {"scope": "s", "key": "k", "ops": [{"type": "explode", "path": "x"}]}, "unknown update op"),
    ("state::update", {"scope": "s", "key": "k", "ops": [{"type": "increment", "path": "x", "by": "1"}]}, "by"),
    ("state::update", {"scope": "s", "key": "k", "ops": {"type": "set"}}, "array"),
    ("state::list", {}, "scope"),
])
def test_bad_input_gets_a_typed_error(worker: Any, function_id: str, payload: Any, needle: str) -> None:
    from iii import InvocationError

    with pytest.raises(InvocationError) as info:
        call(worker, function_id, payload)
    assert info.value.code == "deserialization_error"
    assert needle in info.value.message


def test_state_trigger_events_filters_and_condition(worker: Any) -> None:
    scope = unique("watched")
    seen: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_change(event: dict[str, Any]) -> None:
        seen.put(event)

    def only_key_b(event: dict[str, Any]) -> bool:
        return bool(event["key"] == "b")

    worker.register_function("test::on_change", on_change)
    worker.register_function("test::only_b", only_key_b)
    worker.register_trigger({"type": "state", "function_id": "test::on_change",
                             "config": {"scope": scope, "condition_function_id": "test::only_b"}})
    call(worker, "engine::functions::list", {})  # a round trip: the registrations above have arrived
    call(worker, "state::set", {"scope": scope, "key": "a", "value": 1})  # filtered by the condition
    call(worker, "state::set", {"scope": unique("other"), "key": "b", "value": 1})  # other scope
    call(worker, "state::set", {"scope": scope, "key": "b", "value": 1})
    call(worker, "state::update", {"scope": scope, "key": "b", "ops": [{"type": "set", "path": "", "value": 2}]})
    call(worker, "state::delete", {"scope": scope, "key": "b"})
    events = [seen.get(timeout=10) for _ in range(3)]
    assert [(e["event_type"], e["old_value"], e["new_value"]) for e in events] == [
        ("state:created", None, 1), ("state:updated", 1, 2), ("state:deleted", 2, None)]
    assert all(e["type"] == "state" and e["scope"] == scope and e["key"] == "b" for e in events)
    assert seen.empty()
