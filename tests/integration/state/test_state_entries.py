"""``state::list_entries`` (a pyiii extension): keys with their values, paged, on every adapter."""

from __future__ import annotations

from typing import Any

from tests.integration.state.kvsupport import call, unique


def test_entries_give_every_key_with_its_value_in_list_order(worker: Any) -> None:
    scope = unique("stats")
    values = {"latest": {"orders": 3}, "attempt-1": 1, "attempt-2": [1, 2], "nothing": None, "a:b/c": "x"}
    for key, value in values.items():
        call(worker, "state::set", {"scope": scope, "key": key, "value": value})
    result = call(worker, "state::list_entries", {"scope": scope})
    assert result["total"] == 5 and result["next_cursor"] is None
    assert {e["key"]: e["value"] for e in result["entries"]} == values
    # same order as state::list
    assert [e["value"] for e in result["entries"]] == call(worker, "state::list", {"scope": scope})
    assert call(worker, "state::list_entries", {"scope": unique("nobody")}) == {
        "entries": [], "total": 0, "next_cursor": None}


def test_entries_are_paged_by_cursor_and_searched(worker: Any) -> None:
    scope = unique("many")
    for i in range(7):
        call(worker, "state::set", {"scope": scope, "key": f"k{i}", "value": {"i": i}})
    keys: list[str] = []
    cursor = None
    while True:
        page = call(worker, "state::list_entries", {"scope": scope, "limit": 3, "cursor": cursor})
        assert len(page["entries"]) <= 3 and page["total"] == 7
        keys += [e["key"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(keys) == [f"k{i}" for i in range(7)]
    found = call(worker, "state::list_entries", {"scope": scope, "search": '"i":5'})
    assert [e["key"] for e in found["entries"]] == ["k5"]
    by_key = call(worker, "state::list_entries", {"scope": scope, "search": "K6"})
    assert [e["key"] for e in by_key["entries"]] == ["k6"]
