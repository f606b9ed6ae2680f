"""``pyiii.protocol``: frame decoding/encoding (spec/protocol.md §2)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from pyiii import protocol as p


def roundtrip(frame: dict[str, Any]) -> dict[str, Any]:
    return json.loads(p.encode(p.decode(json.dumps(frame))))


# --------------------------------------------------------------------------- decoding


def test_every_message_type_decodes() -> None:
    frames: dict[str, dict[str, Any]] = {
        "workerregistered": {"worker_id": "w", "reattach_token": "t"},
        "reattach": {"previous_worker_id": "w", "reattach_token": "t"},
        "registerfunction": {"id": "a::b"},
        "unregisterfunction": {"id": "a::b"},
        "registertriggertype": {"id": "t", "description": "d"},
        "unregistertriggertype": {"id": "t"},
        "registertrigger": {"id": "1", "trigger_type": "t", "function_id": "f", "config": {}},
        "unregistertrigger": {"id": "1"},
        "triggerregistrationresult": {"id": "1", "trigger_type": "t", "function_id": "f"},
        "invokefunction": {"function_id": "f", "data": None},
        "invocationresult": {"invocation_id": "i", "function_id": "f"},
        "registerservice": {"id": "s"},
        "registrationrejected": {"code": "FUNCTION_NAMESPACE_CONFLICT", "namespace": "n", "owner_worker_id": ""},
        "functionregistered": {"id": "f", "namespace": "n", "revision": 0, "local_dispatch": False, "observers": []},
        "localinvocationstats": {"window_ms": 10, "functions": [], "dropped_reports": []},
        "ping": {},
        "pong": {},
        "error": {"error": {"code": "AUTH_ERROR", "message": "no"}},
        "observe": {"id": "o", "source": {"function_id": "a::b"}, "target": {"function_id": "c::d"}},
        "unobserve": {"id": "o"},
        "observeresult": {"id": "o", "state": "active"},
        "observerstatechanged": {"id": "o", "state": "suspended", "fires": 1},
        "observeradded": {"function_id": "a::b", "namespace": "n", "revision": 1, "observer": {"id": "o"}},
        "observerremoved": {"function_id": "a::b", "namespace": "n", "revision": 2, "id": "o"},
        "observerack": {"function_id": "a::b", "namespace": "n", "id": "o", "revision": 1},
        "invocationsobserved": {"items": [{"function_id": "a::b", "matched": ["o"]}]},
    }
    assert set(frames) == p.KNOWN_TYPES
    for tag, fields in frames.items():
        msg = p.decode(json.dumps({"type": tag, **fields}))
        assert msg.__struct_config__.tag == tag  # type: ignore[attr-defined]


def test_namespace_fields_of_023_decode_and_null_means_absent() -> None:
    """Spec iii-0.23-0.25 §1.4 and D3: optional ``namespace`` / ``trigger_namespace``; ``null``
    is taken as absent; a 0.22.1 frame decodes exactly as before."""
    inv = p.decode('{"type":"invokefunction","function_id":"f","namespace":"orders"}')
    assert isinstance(inv, p.InvokeFunction) and inv.namespace == "orders"
    assert p.decode('{"type":"invokefunction","function_id":"f","namespace":null}') == p.decode(
        '{"type":"invokefunction","function_id":"f"}'
    )
    trig = p.decode('{"type":"registertrigger","id":"1","trigger_type":"t","function_id":"f",'
                    '"namespace":"a","trigger_namespace":"b"}')
    assert isinstance(trig, p.RegisterTrigger) and (trig.namespace, trig.trigger_namespace) == ("a", "b")
    tt = p.decode('{"type":"unregistertriggertype","id":"t","namespace":"a","description":"x"}')
    assert isinstance(tt, p.UnregisterTriggerType) and tt.namespace == "a"
    # Engine -> provider: the keys are left out when unset (old providers see 0.22.1 frames).
    assert b"namespace" not in p.encode(p.RegisterTrigger(id="1", trigger_type="t", function_id="f"))


def test_registration_rejected_always_carries_owner_worker_id() -> None:
    frame = json.loads(p.encode(p.RegistrationRejected(
        code="FUNCTION_NAMESPACE_CONFLICT", namespace="orders", owner_worker_id="", function_id="engine::mine")))
    assert frame == {"type": "registrationrejected", "code": "FUNCTION_NAMESPACE_CONFLICT", "namespace": "orders",
                     "owner_worker_id": "", "function_id": "engine::mine"}


def test_decode_accepts_bytes_and_str_and_ignores_unknown_fields() -> None:
    a = p.decode(b'{"type":"registerfunction","id":"x::y","future_field":[1,2]}')
    b = p.decode('{"future_field": {"a": 1}, "id": "x::y", "type": "registerfunction"}')
    assert isinstance(a, p.RegisterFunction) and isinstance(b, p.RegisterFunction)
    assert a.id == b.id == "x::y"


def test_lenient_defaults_of_spec_2_5() -> None:
    inv = p.decode('{"type":"invokefunction","function_id":"f"}')
    assert isinstance(inv, p.InvokeFunction)
    assert inv.data == p.ABSENT and not inv.data  # absent data: treated as null by the engine
    assert inv.invocation_id is None and inv.action is None
    trig = p.decode('{"type":"registertrigger","id":"1","trigger_type":"t","function_id":"f"}')
    assert isinstance(trig, p.RegisterTrigger) and not trig.config
    tt = p.decode('{"type":"registertriggertype","id":"t"}')
    assert isinstance(tt, p.RegisterTriggerType) and tt.description == ""
    # Any string is an invocation id, not only UUIDs.
    inv2 = p.decode('{"type":"invokefunction","function_id":"f","data":1,"invocation_id":"not-a-uuid"}')
    assert isinstance(inv2, p.InvokeFunction) and inv2.invocation_id == "not-a-uuid"


def test_null_optional_fields_equal_absent() -> None:
    msg = p.decode(
        '{"type":"invokefunction","function_id":"f","data":{},"invocation_id":null,"action":null,'
        '"traceparent":null,"baggage":null}'
    )
    assert isinstance(msg, p.InvokeFunction)
    assert msg.invocation_id is None and msg.action is None and msg.traceparent is None


def test_actions_decode() -> None:
    void = p.decode('{"type":"invokefunction","function_id":"f","data":1,"action":{"type":"void"}}')
    enq = p.decode('{"type":"invokefunction","function_id":"f","data":1,"action":{"type":"enqueue","queue":"q"}}')
    assert isinstance(void, p.InvokeFunction) and isinstance(void.action, p.VoidAction)
    assert isinstance(enq, p.InvokeFunction) and isinstance(enq.action, p.EnqueueAction)
    assert enq.action.queue == "q"


def test_payloads_stay_raw_bytes() -> None:
    text = '{"type":"invokefunction","function_id":"f","data":{"b": 2,  "a":[1.50, "x"]},"metadata":{"m":1}}'
    msg = p.decode(text)
    assert isinstance(msg, p.InvokeFunction)
    assert bytes(msg.data) == b'{"b": 2,  "a":[1.50, "x"]}'  # not re-serialised
    assert p.from_raw(msg.metadata) == {"m": 1}


def test_error_body_defaults_keep_a_sloppy_error_deliverable() -> None:
    msg = p.decode('{"type":"invocationresult","invocation_id":"i","function_id":"f","error":{"message":"m"}}')
    assert isinstance(msg, p.InvocationResult) and msg.error is not None
    assert msg.error.code == "UNKNOWN" and msg.error.message == "m"


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ('{"type": "ping"', "malformed_json"),
        ("not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        ("", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        ('"ping"', "not_an_object"),
        ("null", "not_an_object"),
        ("7", "not_an_object"),
        ('{"type": "explode"}', "unknown_type"),
        ('{"type": "PING"}', "unknown_type"),
        ('{"id": "x"}', "unknown_type"),
        ('{"type": 3}', "unknown_type"),
        ('{"type": "registerfunction"}', "invalid_fields"),
        ('{"type": "registerfunction", "id": 5}', "invalid_fields"),
        ('{"type": "invokefunction", "invocation_id": "i", "function_id": 1}', "invalid_fields"),
        ('{"type": "invokefunction", "function_id": "f", "action": {"type": "later"}}', "invalid_fields"),
        ('{"type": "invokefunction", "function_id": "f", "action": {"type": "enqueue"}}', "invalid_fields"),
        ('{"type": "registerfunction", "id": "x", "invocation": {"url": "u", "method": "TRACE"}}', "invalid_fields"),
        ('{"type": "registertrigger", "id": "1", "trigger_type": "t"}', "invalid_fields"),
        ('{"type": "reattach"}', "invalid_fields"),
    ],
)
def test_decode_errors_are_classified(frame: str | bytes, kind: str) -> None:
    with pytest.raises(p.FrameError) as info:
        p.decode(frame)
    assert info.value.kind == kind
    assert info.value.message
    if kind in ("unknown_type", "invalid_fields"):
        assert isinstance(info.value.raw, dict)  # a reply can still be addressed
    else:
        assert info.value.raw is None


def test_frame_error_keeps_the_invocation_id_for_a_reply() -> None:
    with pytest.raises(p.FrameError) as info:
        p.decode('{"type": "invokefunction", "invocation_id": "abc", "function_id": ["x"], "data": 1}')
    assert info.value.raw is not None and info.value.raw["invocation_id"] == "abc"


@pytest.mark.parametrize("frame", ["[" * 200_000, '{"a":' * 200_000, '{"type":"ping","x":' + "[" * 100_000])
def test_hostile_nesting_is_a_frame_error_not_a_crash(frame: str) -> None:
    with pytest.raises(p.FrameError):
        p.decode(frame)


# --------------------------------------------------------------------------- encoding


def test_encode_omits_empty_optionals_and_uses_lowercase_tags() -> None:
    out = json.loads(p.encode(p.InvocationResult(invocation_id="i", function_id="f")))
    assert out == {"type": "invocationresult", "invocation_id": "i", "function_id": "f"}
    out = json.loads(p.encode(p.WorkerRegistered(worker_id="w", reattach_token="t")))
    assert out == {"type": "workerregistered", "worker_id": "w", "reattach_token": "t"}
    assert json.loads(p.encode(p.Pong())) == {"type": "pong"}


def test_encode_keeps_explicit_null_payloads() -> None:
    out = json.loads(p.encode(p.InvokeFunction(function_id="f", data=p.NULL, invocation_id="i")))
    assert out == {"type": "invokefunction", "function_id": "f", "data": None, "invocation_id": "i"}


def test_roundtrip_preserves_fields() -> None:
    frame = {
        "type": "registertrigger",
        "id": "1",
        "trigger_type": "t",
        "function_id": "f",
        "config": {"a": [1, None]},
        "metadata": {"m": True},
    }
    assert roundtrip(frame) == frame
    frame = {
        "type": "invocationresult",
        "invocation_id": "i",
        "function_id": "f",
        "error": {"code": "c", "message": "m", "stacktrace": "s"},
        "traceparent": "tp",
        "baggage": "b",
    }
    assert roundtrip(frame) == frame


def test_error_result_always_carries_function_id() -> None:
    out = json.loads(p.error_result("i", "", "invalid_frame", "bad"))
    assert out == {
        "type": "invocationresult",
        "invocation_id": "i",
        "function_id": "",
        "error": {"code": "invalid_frame", "message": "bad"},
    }
    out = json.loads(p.error_result("i", "a::b", "function_not_found", "Function a::b not found"))
    assert out["function_id"] == "a::b" and out["error"]["code"] == "function_not_found"


# --------------------------------------------------------------------------- payload helpers


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"a": 1}', {"a": 1, "_caller_worker_id": "W"}),
        (b"{}", {"_caller_worker_id": "W"}),
        (b"  { }  ", {"_caller_worker_id": "W"}),
        (b'{"_caller_worker_id": "spoofed", "x": 1}', {"_caller_worker_id": "W", "x": 1}),
    ],
)
def test_with_caller_worker_id_on_objects(payload: bytes, expected: dict[str, Any]) -> None:
    out = p.with_caller_worker_id(msgspec.Raw(payload), "W")
    assert p.from_raw(out) == expected  # last key wins: a caller cannot spoof its id


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"s"', b"3", b"null", b"true"])
def test_with_caller_worker_id_leaves_non_objects_alone(payload: bytes) -> None:
    assert bytes(p.with_caller_worker_id(msgspec.Raw(payload), "W")) == payload


def test_raw_helpers() -> None:
    assert p.from_raw(p.ABSENT) is None
    assert p.from_raw(p.to_raw(None)) is None
    assert p.from_raw(p.to_raw({"a": [1]})) == {"a": [1]}
    assert bytes(p.raw_or_null(p.ABSENT)) == b"null"
    assert p.is_json_object(msgspec.Raw(b' {"a":1}')) and not p.is_json_object(msgspec.Raw(b"[]"))


# --------------------------------------------------------------------------- hostile answers and calls


@pytest.mark.parametrize(
    ("error", "code", "message", "normalised"),
    [
        ('{"code":"E","message":"m"}', "E", "m", False),
        ('{"code":"E","message":"m","stacktrace":"s","hint":1}', "E", "m", False),
        ('{"detail":"boom"}', "UNKNOWN", '{"detail":"boom"}', True),
        ("{}", "UNKNOWN", "{}", True),
        ('"boom"', "UNKNOWN", "boom", True),
        ("42", "UNKNOWN", "42", True),
        ("false", "UNKNOWN", "false", True),
        ('{"code":7,"message":["x"]}', "7", '["x"]', True),
    ],
)
def test_every_wire_error_gets_a_code_and_a_message(error: str, code: str, message: str, normalised: bool) -> None:
    msg = p.decode('{"type":"invocationresult","invocation_id":"i","error":' + error + "}")
    assert isinstance(msg, p.InvocationResult) and msg.error is not None
    assert (msg.error.code, msg.error.message, msg.error.normalised) == (code, message, normalised)
    body = json.loads(p.encode(msg))["error"]
    assert body["code"] == code and body["message"] == message
    original = json.loads(error)
    if isinstance(original, dict):  # the worker's other fields are kept
        assert all(body[k] == v for k, v in original.items() if k not in ("code", "message"))


def test_engine_errors_without_message_still_carry_one() -> None:
    body = json.loads(p.encode(p.InvocationResult(invocation_id="i", error=p.ErrorBody(code="x", message=""))))
    assert body["error"] == {"code": "x", "message": "x"}


def test_null_error_is_no_error() -> None:
    msg = p.decode('{"type":"invocationresult","invocation_id":"i","error":null,"result":1}')
    assert isinstance(msg, p.InvocationResult) and msg.error is None


def test_empty_invocation_id_is_invalid_but_addressable() -> None:
    with pytest.raises(p.FrameError) as info:
        p.decode('{"type":"invokefunction","function_id":"f","invocation_id":""}')
    assert info.value.kind == "invalid_fields" and "invocation_id" in info.value.message
    assert info.value.raw is not None and info.value.raw["invocation_id"] == ""


def test_too_deep_frame_is_addressed_by_its_envelope() -> None:
    tricky = json.dumps([{"a": '}]"[{', "invocation_id": "nested"}, "x\\"])
    frame = ('{"type":"invokefunction","data":[' + tricky + "," + "[" * 3000 + "]" * 3000
             + '], "invocation_id" : "i\\u0041", "n": 5, "function_id":"f"}')
    with pytest.raises(p.FrameError) as info:
        p.decode(frame)
    assert info.value.kind == "too_deep"
    assert info.value.raw == {"type": "invokefunction", "invocation_id": "iA", "function_id": "f"}


@pytest.mark.parametrize("frame", [b"[" * 5000, b'  "x"', b"", b"{" + b'"a":[' * 3000])
def test_envelope_scan_of_non_objects_and_truncated_frames(frame: bytes) -> None:
    fields = p.envelope_strings(frame)
    assert fields is None or fields == {}
