"""A binding's config as core reads it: the legacy condition key."""

from __future__ import annotations

from pyiii.core.triggers import Binding


def test_legacy_condition_path_is_read_as_condition_function_id() -> None:
    binding = Binding("t1", "queue", "f", {"topic": "x", "_condition_path": "cond::only"})
    assert binding.config["condition_function_id"] == "cond::only"
    assert binding.targets() == ["f", "cond::only"]  # the access check sees the condition too


def test_condition_function_id_wins_over_the_legacy_key() -> None:
    binding = Binding("t1", "cron", "f", {"_condition_path": "old", "condition_function_id": "new"})
    assert binding.config["condition_function_id"] == "new"


def test_configs_without_the_legacy_key_are_left_alone() -> None:
    config = {"topic": "x"}
    assert Binding("t1", "queue", "f", config).config is config
    assert Binding("t2", "queue", "f", None).config is None
