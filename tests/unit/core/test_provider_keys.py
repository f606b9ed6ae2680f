"""Which provider key serves a binding (spec iii-0.23-0.25 §1.6), as pure rules."""

from __future__ import annotations

from pyiii.core.provider_keys import candidate_keys, is_on_fallback


def test_an_explicit_trigger_namespace_is_strict() -> None:
    assert candidate_keys("webhook", "orders", "billing") == [("orders", "webhook")]
    assert candidate_keys("webhook", "default", "orders") == [("default", "webhook")]


def test_without_one_home_comes_before_default() -> None:
    assert candidate_keys("webhook", None, "orders") == [("orders", "webhook"), ("default", "webhook")]
    assert candidate_keys("webhook", None, "default") == [("default", "webhook")]


def test_only_a_binding_served_away_from_home_without_an_explicit_namespace_is_on_fallback() -> None:
    assert is_on_fallback(None, "orders", "default")
    assert not is_on_fallback(None, "orders", "orders")  # at home
    assert not is_on_fallback("default", "orders", "default")  # explicit: never moved
    assert not is_on_fallback(None, "orders", None)  # parked
