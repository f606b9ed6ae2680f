"""``pyiii.w3c_trace``: traceparent and baggage as the W3C specs (and spec/protocol.md §8) say."""

from __future__ import annotations

import re

import pytest

from pyiii.w3c_trace import (
    FUNCTION_ID_KEY,
    MAX_BAGGAGE_BYTES,
    MAX_BAGGAGE_MEMBERS,
    TraceParent,
    format_traceparent,
    new_span_id,
    new_trace_id,
    parse_baggage,
    parse_traceparent,
    trace_id_of,
    with_function_id,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
TP = f"00-{TRACE}-{SPAN}-01"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TP, TraceParent(TRACE, SPAN, 1)),
        (f"00-{TRACE}-{SPAN}-00", TraceParent(TRACE, SPAN, 0)),
        (f"00-{TRACE}-{SPAN}-03", TraceParent(TRACE, SPAN, 3)),  # unknown flag bits are kept
        (TP.upper(), TraceParent(TRACE, SPAN, 1)),  # normalised, as the engine always did
        (f"  {TP}\t", TraceParent(TRACE, SPAN, 1)),
        # A future version may append fields; a version-00 parser reads the first four.
        (f"01-{TRACE}-{SPAN}-01-what-the-future-holds", TraceParent(TRACE, SPAN, 1)),
        (f"cc-{TRACE}-{SPAN}-00", TraceParent(TRACE, SPAN, 0)),
    ],
)
def test_valid_traceparents(header: str, expected: TraceParent) -> None:
    assert parse_traceparent(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"ff-{TRACE}-{SPAN}-01",  # version ff is forbidden
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero span id
        f"00-{TRACE[:-1]}-{SPAN}-01",  # short trace id
        f"00-{TRACE}-{SPAN}0-01",  # long span id
        f"00-{TRACE}-{SPAN}",  # no flags
        f"00-{TRACE}-{SPAN}-1",  # one-digit flags
        f"00-{TRACE[:-1]}g-{SPAN}-01",  # not hex
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"01-{TRACE}-{SPAN}-01extra",  # a future version's extra fields follow a dash
        f"0-{TRACE}-{SPAN}-01",
        f"00_{TRACE}_{SPAN}_01",
    ],
)
def test_invalid_traceparents(header: str | None) -> None:
    assert parse_traceparent(header) is None
    assert trace_id_of(header) is None


def test_sampled_is_the_low_flag_bit() -> None:
    assert TraceParent(TRACE, SPAN, 1).sampled and TraceParent(TRACE, SPAN, 3).sampled
    assert not TraceParent(TRACE, SPAN, 0).sampled and not TraceParent(TRACE, SPAN, 2).sampled


def test_format_round_trips() -> None:
    assert format_traceparent(TRACE, SPAN) == TP
    assert format_traceparent(TRACE, SPAN, sampled=False) == f"00-{TRACE}-{SPAN}-00"
    assert parse_traceparent(format_traceparent(TRACE, SPAN)) == TraceParent(TRACE, SPAN, 1)
    assert trace_id_of(TP) == TRACE


def test_new_ids_are_lower_hex_nonzero_and_distinct() -> None:
    traces = {new_trace_id() for _ in range(200)}
    spans = {new_span_id() for _ in range(200)}
    assert len(traces) == 200 and len(spans) == 200
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) and t != "0" * 32 for t in traces)
    assert all(re.fullmatch(r"[0-9a-f]{16}", s) and s != "0" * 16 for s in spans)


def test_parse_baggage() -> None:
    assert parse_baggage(None) == {}
    assert parse_baggage("") == {}
    assert parse_baggage("k=v;prop=1, k2 = a%20b ,junk,=x") == {"k": "v", "k2": "a b", "": "x"}


def test_parse_baggage_drops_members_past_the_limits() -> None:
    many = ",".join(f"k{i}=v" for i in range(MAX_BAGGAGE_MEMBERS + 10))
    parsed = parse_baggage(many)
    assert list(parsed) == [f"k{i}" for i in range(MAX_BAGGAGE_MEMBERS)]
    big = "a=" + "x" * (MAX_BAGGAGE_BYTES - 10) + ",b=" + "y" * 20 + ",c=1"
    assert list(parse_baggage(big)) == ["a"]


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
    value = out.split(",")[-1].split("=", 1)[1]
    assert "," not in value and ";" not in value and " " not in value and "=" not in value
    assert parse_baggage(out)[FUNCTION_ID_KEY] == "weird id,with=chars;ü"
