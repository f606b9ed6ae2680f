from __future__ import annotations

import dataclasses

import pytest

from pyiii.observe_filter import FilterLimits


def test_defaults_are_the_spec_values() -> None:
    assert dataclasses.asdict(FilterLimits()) == {
        "max_depth": 8, "max_nodes": 64, "max_in_items": 256, "max_path_segments": 16,
        "max_encoded_bytes": 8192, "max_abs_number": 2**53, "max_operand_nesting": 32, "max_nesting": 120,
        "max_any_elements": 100_000,  # pyiii's own (the evaluation budget)
    }


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_a_limit_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ValueError, match="max_depth must be a positive integer"):
        FilterLimits(max_depth=bad)  # type: ignore[arg-type]


def test_limits_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FilterLimits().max_depth = 9  # type: ignore[misc]


def test_limits_from_a_config_section() -> None:
    assert FilterLimits.from_config(None) == FilterLimits()
    assert FilterLimits.from_config({"max_depth": 4, "max_in_items": 16}) == FilterLimits(max_depth=4, max_in_items=16)
    with pytest.raises(ValueError, match="unknown filter limit\\(s\\) depth \\(known: max_depth, "):
        FilterLimits.from_config({"depth": 4})
    with pytest.raises(ValueError, match="max_nodes must be a positive integer, got '64'"):
        FilterLimits.from_config({"max_nodes": "64"})
