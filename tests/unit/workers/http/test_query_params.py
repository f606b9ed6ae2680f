"""Query strings in the handler payload: a single key stays a string, a repeated key is a list."""

from __future__ import annotations

from pyiii.workers.http.pipeline import query_params


def test_single_values_stay_strings() -> None:
    assert query_params("a=1&b=&c=x%20y") == {"a": "1", "b": "", "c": "x y"}


def test_repeated_keys_become_lists_in_order() -> None:
    assert query_params("q=x&a=1&q=y&q=z") == {"q": ["x", "y", "z"], "a": "1"}


def test_empty() -> None:
    assert query_params("") == {}
