"""``pyiii.core.tracecontext``: traceparent parsing and ``iii.function.id`` baggage (spec §8)."""

from __future__ import annotations

import re

import pytest

from pyiii.core.tracecontext import (
    FUNCTION_ID_KEY,
    make_traceparent,
    new_span_id,
    new_trace_id,
    parse_baggage,
    parse_traceparent,
    with_function_id,
)

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_with_function_id_on_empty_baggage() -> None:
    assert with_function_id(None, "orders::create") == "iii.function.id=orders::create"
    assert with_function_id("", "a") == "iii.function.id=a"


def test_with_function_id_keeps_other_entries_and_replaces_its_own() -> None:
    out = with_function_id("tenant=acme,iii.function.id=old::fn,user=u1", "new::fn")
    assert out.split(",") == ["tenant=acme", "user=u1", "iii.function.id=new::fn"]
    assert parse_baggage(out) == {"tenant": "acme", "user": "u1", FUNCTION_ID_KEY: "new::fn"}
    # Only the exact key is replaced, also with spaces around it.
    out = with_function_id("iii.function.id.other=1, iii.function.id = x", "y")
    assert parse_baggage(out) == {"iii.function.id.other": "1", FUNCTION_ID_KEY: "y"}


def test_with_function_id_percent_encodes_unsafe_characters() -> None:
    out = with_function_id("a=1", "weird id,with=chars;ü")
    entry = out.split(",")[-1]
    assert entry.startswith("iii.function.id=")
    value = entry.split("=", 1)[1]
    assert "," not in value and ";" not in value and " " not in value and "=" not in value
    assert parse_baggage(out)[FUNCTION_ID_KEY] == "weird id,with=chars;ü"


def test_parse_baggage() -> None:
    assert parse_baggage(None) == {}
    assert parse_baggage("k=v;prop=1, k2 = a%20b ,junk,=x") == {"k": "v", "k2": "a b", "": "x"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TP, ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)),
        (TP.upper(), ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)),
        (f"  {TP}  ", ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)),
        (TP[:-2] + "00", ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0)),
        (None, None),
        ("", None),
        ("garbage", None),
        ("00-" + "0" * 32 + "-00f067aa0ba902b7-01", None),  # all-zero trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01", None),  # all-zero span id
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", None),  # short trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", None),  # no flags
        ("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", None),  # not hex
    ],
)
def test_parse_traceparent(header: str | None, expected: tuple[str, str, int] | None) -> None:
    assert parse_traceparent(header) == expected


def test_ids_and_make_traceparent() -> None:
    trace, span = new_trace_id(), new_span_id()
    assert re.fullmatch(r"[0-9a-f]{32}", trace) and re.fullmatch(r"[0-9a-f]{16}", span)
    assert new_trace_id() != trace
    header = make_traceparent(trace, span)
    assert header == f"00-{trace}-{span}-01"
    assert parse_traceparent(header) == (trace, span, 1)
    assert make_traceparent(trace, span, sampled=False).endswith("-00")
