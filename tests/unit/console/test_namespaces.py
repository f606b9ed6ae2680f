"""What the console accepts as a namespace from the browser, which namespaces a list holds, and
the namespace a subscriber queue name carries (spec iii-0.23-0.25 §1.11's escaping)."""

from __future__ import annotations

import pytest

from pyiii.console.namespaces import (
    InputError,
    namespace_of,
    namespaces_in,
    only_namespace,
    parse_namespace,
    split_queue_namespace,
)


@pytest.mark.parametrize("value", [None, ""])
def test_no_namespace_means_every_namespace(value: object) -> None:
    assert parse_namespace(value) is None


@pytest.mark.parametrize("value", ["default", "team-a", "a/b::c@d", "ünï cødé", "x" * 256])
def test_any_non_blank_name_up_to_the_bound_is_accepted_as_is(value: str) -> None:
    assert parse_namespace(value) == value


@pytest.mark.parametrize(("value", "why"), [
    (" ", "blank"), ("\t\n", "blank"), ("x" * 257, "longer than 256"), ("a\x00b", "control"),
    ("a\nb", "control"), ("a\x7f", "control"), (7, "must be a string"), (["a"], "must be a string"),
])
def test_bad_namespaces_get_a_typed_error(value: object, why: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_namespace(value)
    assert refused.value.code == "INVALID_NAMESPACE" and why in refused.value.message


def test_the_bound_is_configurable() -> None:
    assert parse_namespace("abcd", max_chars=4) == "abcd"
    with pytest.raises(InputError, match="longer than 3"):
        parse_namespace("abcd", max_chars=3)


def test_rows_without_a_namespace_are_in_default() -> None:
    rows = [{"id": 1}, {"id": 2, "namespace": "b"}, {"id": 3, "namespace": "a"}, {"id": 4, "namespace": ""},
            {"id": 5, "namespace": None}]
    assert [namespace_of(r) for r in rows] == ["default", "b", "a", "default", "default"]
    assert namespaces_in(rows) == ["default", "a", "b"]  # default first, then sorted
    assert namespaces_in([{"namespace": "z"}, {"namespace": "a"}]) == ["a", "z"]
    assert [r["id"] for r in only_namespace(rows, "default")] == [1, 4, 5]
    assert [r["id"] for r in only_namespace(rows, "a")] == [3]
    assert only_namespace(rows, None) is rows
    assert only_namespace(rows, "nowhere") == []


@pytest.mark.parametrize(("queue", "expected"), [
    ("orders::steps::Process", ("orders::steps::Process", None)),
    ("orders::steps::Process@team-a", ("orders::steps::Process", "team-a")),
    # esc doubles "\" and puts "\" before "@" (injective): the topic's own @ is not the separator
    (r"mail\@home::f@team-a", ("mail@home::f", "team-a")),
    (r"a\\::f@n\@s", ("a\\::f", "n@s")),
    (r"only\@escaped", (r"only\@escaped", None)),
    ("trailing@", ("trailing@", None)),
    ("two@at@signs", ("two@at@signs", None)),
])
def test_subscriber_queue_names_split_at_the_unescaped_at(queue: str, expected: tuple[str, str | None]) -> None:
    assert split_queue_namespace(queue) == expected
