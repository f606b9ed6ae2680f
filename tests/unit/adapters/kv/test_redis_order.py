"""in_index_order: a Redis table's fields put in the order of its order index."""

from __future__ import annotations

from pyiii.adapters.kv.redis_order import in_index_order


def test_fields_follow_the_index_not_the_hash() -> None:
    found = in_index_order([b"c", b"a", b"b"], {b"a": b"1", b"b": b"2", b"c": b"3"})
    assert found.rows == [(b"c", b"3"), (b"a", b"1"), (b"b", b"2")]
    assert not found.index_needs_repair


def test_fields_the_index_lacks_come_last_in_the_hash_order() -> None:
    found = in_index_order([b"b"], {b"z": b"1", b"b": b"2", b"y": b"3"})
    assert found.rows == [(b"b", b"2"), (b"z", b"1"), (b"y", b"3")]
    assert found.unindexed == 2 and found.stale == []
    assert found.index_needs_repair


def test_index_entries_without_a_field_are_skipped_and_reported() -> None:
    found = in_index_order([b"gone", b"a", b"also-gone"], {b"a": b"1"})
    assert found.rows == [(b"a", b"1")]
    assert found.stale == [b"gone", b"also-gone"]
    assert found.unindexed == 0 and found.index_needs_repair


def test_an_absent_table_is_empty() -> None:
    found = in_index_order([], {})
    assert found.rows == [] and not found.index_needs_repair


def test_stale_and_unindexed_together_list_every_field_once() -> None:
    # an engine without the index deleted "x" and wrote "w" while the index counted both
    found = in_index_order([b"x", b"a"], {b"a": b"1", b"w": b"2"})
    assert found.rows == [(b"a", b"1"), (b"w", b"2")]
    assert found.stale == [b"x"] and found.unindexed == 1
