"""``pyiii.core.observe.events``: the match document, ``on``, the envelope per ``capture`` and
``deliver`` (spec iii-0.23-0.25 §5.3.10, §5.7)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from pyiii import protocol as p
from pyiii.core.observe.events import Event, activation_caller, activation_data, matches, read_caller, read_depth
from pyiii.core.observe.filters import compile_filter
from pyiii.core.observe.model import Observer, ObserveSpec


def observer(filters: dict[str, Any] | None = None, **fields: Any) -> Observer:
    spec = ObserveSpec(id="o1", source_ns="default", source_id="s", target_ns="default", target_id="t",
                       filter=compile_filter(filters or {}), **fields)
    return Observer(spec, None)


def raw_event(data: bytes, result: bytes | None = b'{"ok":1}', error: dict[str, Any] | None = None) -> Event:
    event = Event("s", "default", "inv-1", "error" if error else "success", 1000, 2.5, caller={"worker_id": "w"})
    event.raw["input"] = msgspec.Raw(data)
    if error is not None:
        event.values["error"] = error
    elif result is not None:
        event.raw["output"] = msgspec.Raw(result)
    return event


def test_filter_reads_the_decoded_input_and_on_selects_the_status() -> None:
    big, small = raw_event(b'{"amount":750}'), raw_event(b'{"amount":10}')
    watching = observer({"input.amount": {"$gte": 500}})
    assert matches(watching, big) and not matches(watching, small)
    failed = raw_event(b'{"amount":750}', error={"code": "x", "message": "y"})
    assert not matches(watching, failed)
    assert matches(observer({"input.amount": {"$gte": 500}}, on="error"), failed)
    assert matches(observer(on="complete"), failed) and matches(observer(on="complete"), big)


def test_nothing_is_decoded_for_a_match_all_observer() -> None:
    event = raw_event(b'{"amount":750}')
    assert matches(observer(), event) and event.values == {}


def test_envelope_keeps_only_captured_parts_and_embeds_raw_bytes() -> None:
    event = raw_event(b'{"amount": 750}')
    data = activation_data(observer(capture=("input",)), event, "act-1", wire=True)
    encoded = json.loads(bytes(p.to_raw(data)))
    assert encoded == {"observer_id": "o1", "activation_id": "act-1", "function_id": "s", "namespace": "default",
                       "invocation_id": "inv-1", "status": "success", "input": {"amount": 750},
                       "started_at_ms": 1000, "duration_ms": 2.5}
    assert b'{"amount": 750}' in bytes(p.to_raw(data))  # the caller's bytes, not re-encoded
    full = activation_data(observer(), event, "act-2", wire=False)
    assert full["output"] == {"ok": 1} and full["caller"] == {"worker_id": "w"} and "error" not in full


def test_deliver_input_or_output_sends_that_value_alone() -> None:
    event = raw_event(b'{"amount":1}', result=b"null")
    assert activation_data(observer(deliver="input"), event, "a", wire=False) == {"amount": 1}
    assert activation_data(observer(deliver="output"), event, "a", wire=False) is None


def test_activation_caller_names_the_source_invocation_and_one_parent_level() -> None:
    event = raw_event(b"{}")
    event.caller = {"worker_id": "w-1", "function_id": "api::in", "parent": {"function_id": "x"}}
    caller = activation_caller(event, "owner-1", "payments")
    assert caller == {"worker_id": "owner-1", "worker_name": "payments", "function_id": "s",
                      "invocation_id": "inv-1", "parent": {"worker_id": "w-1", "function_id": "api::in"}}


def test_wire_context_is_read_leniently() -> None:
    assert [read_depth(v) for v in (3, 0, -1, 1.5, True, "2", None)] == [3, 0, 0, 0, 0, 0, 0]
    assert read_caller("x") is None
    assert read_caller({"function_id": "f", "n": 1, "parent": {"worker_id": "w", "parent": {}}}) == {
        "function_id": "f", "parent": {"worker_id": "w"}}
