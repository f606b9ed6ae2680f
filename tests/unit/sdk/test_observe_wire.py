"""The lenient reading and the sparse building of observe fields (spec iii-0.23-0.25 §5.3)."""

from __future__ import annotations

from typing import Any

import pytest

from pyiii.sdk.invocation_context import ActiveInvocation
from pyiii.sdk.observe_wire import (
    build_observe_message,
    caller_for,
    decode_activation,
    decode_caller,
    decode_observe_depth,
    decode_reason,
)


def test_caller_keeps_string_members_and_one_parent_level() -> None:
    assert decode_caller({"worker_id": "w", "worker_name": 3, "function_id": "f", "extra": "x",
                          "parent": {"invocation_id": "i", "parent": {"worker_id": "deep"}}}) == {
        "worker_id": "w", "function_id": "f", "parent": {"invocation_id": "i"}}
    assert decode_caller("w-1") is None
    assert decode_caller({"worker_id": 1}) is None


@pytest.mark.parametrize(("value", "depth"), [(2, 2), (0, 0), (-1, 0), (1.5, 0), (True, 0), ("3", 0), (None, 0)])
def test_observe_depth_reads_only_positive_integers(value: Any, depth: int) -> None:
    assert decode_observe_depth(value) == depth


def test_activation_needs_a_string_observer_id() -> None:
    assert decode_activation({"observer_id": "o", "activation_id": "a"}) == {"observer_id": "o", "activation_id": "a"}
    assert decode_activation({"observer_id": "o", "activation_id": 5}) == {"observer_id": "o"}
    assert decode_activation({"activation_id": "a"}) is None


def test_reason_always_has_a_code_and_a_message() -> None:
    assert decode_reason({"code": "X", "message": "m"}) == {"code": "X", "message": "m"}
    assert decode_reason({"message": "m"}) == {"code": "UNKNOWN", "message": "m"}
    assert decode_reason({"code": "X"}) == {"code": "X", "message": "X"}
    assert decode_reason("nope") is None


def test_caller_for_a_call_from_a_handler_names_it_and_its_caller_as_parent() -> None:
    ctx = ActiveInvocation("a::f", "inv", caller={"worker_id": "w", "function_id": "up", "parent": {"x": "y"}})
    assert caller_for(ctx) == {"function_id": "a::f", "invocation_id": "inv",
                               "parent": {"worker_id": "w", "function_id": "up"}}
    assert caller_for(ActiveInvocation("a::f", "inv")) == {"function_id": "a::f", "invocation_id": "inv"}


def _ns(worker: str | None) -> Any:
    def namespace_for(function_id: str, explicit: str | None) -> str | None:
        if explicit is not None:
            return explicit
        if function_id.startswith("engine::"):
            return "default" if worker else None
        return worker

    return namespace_for


def test_observe_message_has_only_what_was_set() -> None:
    msg = build_observe_message("o-x", {"function_id": "zz::top", "args": {"k": 1}, "filters": {}, "deliver": "input",
                                        "on": None}, "cron::tick", {}, _ns(None))
    assert msg == {"type": "observe", "id": "o-x", "source": {"function_id": "zz::top", "args": {"k": 1},
                   "filters": {}, "deliver": "input"}, "target": {"function_id": "cron::tick"}}


def test_observe_message_namespaces_and_options() -> None:
    msg = build_observe_message("o", {"function_id": "engine::functions::list"},
                                {"function_id": "t::f", "namespace": "other"},
                                {"max_fires": 2, "expires_in_ms": 10, "max_in_flight": 1, "metadata": {"a": 1}},
                                _ns("orders"))
    assert msg["source"] == {"function_id": "engine::functions::list", "namespace": "default"}
    assert msg["target"] == {"function_id": "t::f", "namespace": "other"}
    assert (msg["max_fires"], msg["expires_in_ms"], msg["max_in_flight"], msg["metadata"]) == (2, 10, 1, {"a": 1})


def test_observe_message_is_a_snapshot_and_must_be_json() -> None:
    filters: dict[str, Any] = {"input.a": {"$eq": 1}}
    msg = build_observe_message("o", {"function_id": "s::f", "filters": filters}, "t::f", {}, _ns(None))
    filters["input.a"]["$eq"] = 2
    assert msg["source"]["filters"] == {"input.a": {"$eq": 1}}
    with pytest.raises(TypeError):
        build_observe_message("o", {"function_id": "s::f", "args": {"x": object()}}, "t::f", {}, _ns(None))
