"""Stream group table names: unambiguous, and the old layout's renaming plan."""

from __future__ import annotations

import pytest

from pyiii.adapters.kv import names
from pyiii.workers.stream import layout


@pytest.mark.parametrize("parts", [("a:b", "c"), ("a", "b:c"), ("%3A", ""), ("a%", ":"), ("", ""), ("x%253Ay", "z")])
def test_compose_round_trips(parts: tuple[str, str]) -> None:
    assert tuple(names.split(names.compose(*parts))) == parts


def test_colliding_pairs_get_different_tables() -> None:
    assert layout.table("a:b", "c") != layout.table("a", "b:c")
    assert layout.table("orders", "g1") == "orders:g1"  # plain names keep their old table


def test_legacy_plan_splits_at_the_first_colon_and_skips_unchanged_names() -> None:
    plan = layout.legacy_plan(["orders:g1", "chat:room:1", "pct%41:g", "nocolon"])
    assert plan == {"orders:g1": "orders:g1", "chat:room:1": "chat:room%3A1", "pct%41:g": "pct%2541:g"}
    assert layout.parse(plan["chat:room:1"]) == ("chat", "room:1")
