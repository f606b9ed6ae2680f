"""A join's snapshot is paged: the sync holds what fits, the rest follow as creates, in order."""

from __future__ import annotations

import json

import msgspec

from pyiii.adapters.kv import encode
from pyiii.workers.stream.snapshot import group_pages


def _raw(value: object) -> msgspec.Raw:
    return msgspec.Raw(encode(value))


def test_items_that_do_not_fit_follow_as_creates_in_order() -> None:
    items = [("a", _raw("x" * 10)), ("b", _raw("y" * 10)), ("c", _raw(1)), ("d", _raw(2))]
    pages = [json.loads(p) for p in group_pages("s", "g", items, page_bytes=15)]
    assert pages[0]["event"] == {"type": "sync", "data": ["x" * 10]} and pages[0]["id"] is None
    assert [(p["event"]["type"], p["id"], p["event"]["data"]) for p in pages[1:]] == [
        ("create", "b", "y" * 10), ("create", "c", 1), ("create", "d", 2)]


def test_a_small_group_is_one_sync_and_items_without_id_stay_in_it() -> None:
    assert [json.loads(p)["event"] for p in group_pages("s", "g", [("a", _raw(1)), (None, _raw(2))], 1000)] == [
        {"type": "sync", "data": [1, 2]}]
    pages = [json.loads(p) for p in group_pages("s", "g", [("a", _raw("x" * 50)), (None, _raw(2))], 10)]
    assert pages[0]["event"]["data"] == [2] and pages[1]["id"] == "a"
