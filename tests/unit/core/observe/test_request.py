"""``pyiii.core.observe.request``: every field of ``observe`` checked, typed refusals (spec
iii-0.23-0.25 §5.3.1, §5.4 steps 2-3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyiii import protocol as p
from pyiii.core.observe.request import ObserveRefusal, observer_id, parse_observe


def frame(**fields: Any) -> p.Observe:
    body: dict[str, Any] = {"type": "observe", "id": "o1", "source": {"function_id": "a::src"},
                            "target": {"function_id": "a::dst"}}
    body.update(fields)
    msg = p.decode(json.dumps(body))
    assert isinstance(msg, p.Observe)
    return msg


def refusal(**fields: Any) -> tuple[str, str]:
    with pytest.raises(ObserveRefusal) as info:
        parse_observe(frame(**fields), "o1")
    return info.value.code, info.value.message


def test_defaults_are_applied_when_fields_are_absent() -> None:
    spec, warnings = parse_observe(frame(), "o1")
    names = (spec.source_ns, spec.source_id, spec.target_ns, spec.target_id)
    assert names == ("default", "a::src", "default", "a::dst")
    assert spec.capture == ("input", "output", "caller") and spec.on == "success" and spec.deliver == "envelope"
    assert spec.filter.match_all and not spec.has_metadata and spec.max_fires is None and warnings == []


def test_every_option_is_taken() -> None:
    spec, _ = parse_observe(frame(
        source={"function_id": "s", "namespace": "orders", "filters": {"input.amount": {"$gte": 500}},
                "capture": ["input", "error"], "on": "error", "deliver": "input"},
        target="t::x", metadata={"team": "billing"}, max_fires=10, expires_in_ms=60000, max_in_flight=4,
    ), "o1")
    assert spec.source_ns == "orders" and spec.target_id == "t::x" and spec.target_ns == "default"
    assert spec.capture == ("input", "error") and spec.on == "error" and spec.deliver == "input"
    assert spec.filter.roots == frozenset({"input"}) and spec.metadata == {"team": "billing"}
    assert (spec.max_fires, spec.expires_in_ms, spec.max_in_flight) == (10, 60000, 4)


def test_null_optional_fields_read_as_absent() -> None:
    spec, _ = parse_observe(frame(source={"function_id": "s", "namespace": None, "capture": None, "on": None},
                                  metadata=None, max_fires=None), "o1")
    assert spec.source_ns == "default" and spec.capture == ("input", "output", "caller") and spec.max_fires is None


@pytest.mark.parametrize(("fields", "code", "names"), [
    ({"source": "a::src"}, "INVALID_ARGS", "source"),
    ({"source": {"function_id": "  "}}, "INVALID_ARGS", "source.function_id"),
    ({"source": {"function_id": 5}}, "INVALID_ARGS", "source.function_id"),
    ({"target": {"namespace": "x"}}, "INVALID_ARGS", "target.function_id"),
    ({"source": {"function_id": "s", "namespace": " "}}, "INVALID_NAMESPACE", "source.namespace"),
    ({"target": {"function_id": "t", "namespace": 3}}, "INVALID_ARGS", "target.namespace"),
    ({"source": {"function_id": "s", "capture": ["input", "body"]}}, "INVALID_ARGS", "capture"),
    ({"source": {"function_id": "s", "capture": "input"}}, "INVALID_ARGS", "capture"),
    ({"source": {"function_id": "s", "on": "always"}}, "INVALID_ARGS", "source.on"),
    ({"source": {"function_id": "s", "deliver": "both"}}, "INVALID_ARGS", "source.deliver"),
    ({"source": {"function_id": "s", "args": [1]}}, "INVALID_ARGS", "source.args"),
    ({"source": {"function_id": "s", "filters": {"input.x": 5}}}, "INVALID_FILTER", "input.x"),
    ({"source": {"function_id": "s", "filters": []}}, "INVALID_FILTER", ""),
    ({"max_fires": 0}, "INVALID_ARGS", "max_fires"),
    ({"max_fires": True}, "INVALID_ARGS", "max_fires"),
    ({"expires_in_ms": 1.5}, "INVALID_ARGS", "expires_in_ms"),
    ({"max_in_flight": "2"}, "INVALID_ARGS", "max_in_flight"),
    ({"expires_in_ms": 10**400}, "INVALID_ARGS", "expires_in_ms"),
])
def test_bad_fields_get_a_typed_refusal_naming_them(fields: dict[str, Any], code: str, names: str) -> None:
    got_code, message = refusal(**fields)
    assert got_code == code and names in message


def test_unknown_members_are_warnings_not_errors() -> None:
    _spec, warnings = parse_observe(frame(source={"function_id": "s", "colour": "red"}), "o1")
    assert warnings == ["source.colour is not an observe field: ignored"]


def test_an_unusable_id_has_no_reply_address() -> None:
    assert observer_id(frame(id=5)) is None and observer_id(frame(id=" ")) is None
    assert observer_id(frame(id="x" * 2000)) is None and observer_id(frame(id="ok")) == "ok"
