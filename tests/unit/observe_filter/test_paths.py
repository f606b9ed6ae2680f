from __future__ import annotations

import re
from typing import Any

import pytest

from pyiii.observe_filter import FilterError
from pyiii.observe_filter.paths import Path, parse_path, resolver, split
from pyiii.observe_filter.values import ABSENT


def parse(text: str, in_any: bool = False) -> Path:
    return parse_path(text, in_any=in_any, max_segments=16)


@pytest.mark.parametrize(("text", "segments"), [
    ("input", ["input"]),
    ("input.a.b", ["input", "a", "b"]),
    ("input.a\\.b", ["input", "a.b"]),
    ("input.a\\\\", ["input", "a\\"]),
    ("input.a\\\\.b", ["input", "a\\", "b"]),
    ("input.\\.\\.", ["input", ".."]),
    ("input.$eq.é", ["input", "$eq", "é"]),
])
def test_split_unescapes(text: str, segments: list[str]) -> None:
    assert split(text) == segments


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty path"),
    ("input.", "empty segment"),
    (".input", "empty segment"),
    ("input..a", "empty segment"),
    ("input.a\\", "a trailing `\\`"),
    ("input.a\\b", "the escape `\\b`"),
    ("input.\\n", "the escape `\\n`"),
])
def test_bad_path_syntax(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize("root", ["input", "output", "error", "caller", "metadata"])
def test_every_document_root(root: str) -> None:
    assert parse(f"{root}.x").root == root


@pytest.mark.parametrize("text", ["Input.x", "inputs", "input\\.x", "@.x", "@", "$input", "x"])
def test_other_roots_are_refused_outside_any(text: str) -> None:
    with pytest.raises(FilterError, match="root"):
        parse(text)


def test_the_element_root_is_the_only_root_inside_any() -> None:
    assert parse("@", in_any=True) == Path("@", ())
    assert parse("@.a.0", in_any=True) == Path("@", (("a", None), ("0", 0)))
    with pytest.raises(FilterError, match="starts with `@`"):
        parse("input.a", in_any=True)


def test_segment_limit_boundary() -> None:
    assert len(parse("input." + ".".join("a" * 16)).segments) == 16
    with pytest.raises(FilterError, match="17 segments after the root, more than 16"):
        parse("input." + ".".join("a" * 17))
    with pytest.raises(FilterError, match="more than 2"):
        parse_path("input.a.b.c", in_any=False, max_segments=2)


@pytest.mark.parametrize(("segment", "index"), [
    ("0", 0), ("7", 7), ("10", 10), ("123456789012345", 123456789012345),
    ("1234567890123456", None), ("01", None), ("00", None), ("+1", None), ("-1", None), ("1.0", None),
    ("١", None), ("1 ", None),
])
def test_only_canonical_indexes_index_arrays(segment: str, index: int | None) -> None:
    path = parse("input." + segment.replace(".", "\\."))
    assert path.segments == ((segment, index),)


DOC: dict[str, Any] = {
    "input": {"a": {"b": 1}, "list": [10, {"k": "v"}], "0": "zero-key", "01": "padded", "n": None, "s": "str"},
    "output": None,
    "caller": [1, 2],
}


@pytest.mark.parametrize(("text", "expected"), [
    ("input.a.b", 1),
    ("input.a", {"b": 1}),
    ("input.a.c", ABSENT),
    ("input.list.0", 10),
    ("input.list.1.k", "v"),
    ("input.list.2", ABSENT),
    ("input.list.01", ABSENT),  # not canonical: a key, and arrays have none
    ("input.0", "zero-key"),  # canonical on an object: just a key
    ("input.01", "padded"),
    ("input.n", None),
    ("input.n.x", ABSENT),  # into null
    ("input.s.0", ABSENT),  # into a scalar: strings are not arrays
    ("output", None),  # present root holding null
    ("output.x", ABSENT),
    ("error", ABSENT),  # root absent from the document
    ("error.x", ABSENT),
    ("caller.1", 2),
    ("caller.x", ABSENT),
])
def test_resolution(text: str, expected: Any) -> None:
    got = resolver(parse(text))(DOC)
    assert got is expected if expected is ABSENT else got == expected


@pytest.mark.parametrize(("text", "element", "expected"), [
    ("@", 5, 5), ("@", None, None), ("@.a", {"a": 1}, 1), ("@.a", [1], ABSENT), ("@.a", 3, ABSENT),
    ("@.0", [7], 7), ("@.0.a", [{"a": 2}], 2), ("@.a.b", {"a": {"b": None}}, None),
])
def test_element_resolution(text: str, element: Any, expected: Any) -> None:
    got = resolver(parse(text, in_any=True))(element)
    assert got is expected if expected is ABSENT else got == expected


def test_a_tuple_is_an_array() -> None:
    assert resolver(parse("input.1"))({"input": (4, 5)}) == 5
